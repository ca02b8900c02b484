// mapBounded: results in order, never more than the limit in flight, the first failure rejects and stops new calls.
import t from 'tap'
import { mapBounded } from '../../src/storage/bounded-map.js'

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('results in order, at most `limit` calls in flight', async (t) => {
  let inFlight = 0
  let most = 0
  const items = Array.from({ length: 50 }, (_, i) => i)
  const results = await mapBounded(items, 7, async (item) => {
    inFlight++
    most = Math.max(most, inFlight)
    await tick((item * 7) % 5)
    inFlight--
    return item * 2
  })
  t.same(results, items.map((i) => i * 2), 'in the order of the items, whatever order they finished in')
  t.equal(most, 7, 'exactly the limit in flight at most')
  t.same(await mapBounded([], 4, async () => 1), [], 'no items, no calls')
  t.same(await mapBounded([1, 2], 100, async (i) => i), [1, 2], 'fewer items than the limit')
})

t.test('the first failure rejects, and no call starts after it', async (t) => {
  const started: number[] = []
  await t.rejects(mapBounded(Array.from({ length: 20 }, (_, i) => i), 2, async (item) => {
    started.push(item)
    await tick(1)
    if (item === 3) throw new Error('read failed')
    return item
  }), { message: 'read failed' })
  await tick(20)
  t.ok(started.length <= 5, `calls stop after the failure (${started.length} started)`)
})
