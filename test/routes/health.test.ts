// /ready needs no token, so it must not let a caller make filegate call S3 at the caller's rate (issue 16, finding 6):
// concurrent probes share one check, and its answer is reused for READY_CACHE_MS.
import t from 'tap'
import { buildTestApp, testS3 } from '../helper.js'
import { countS3Calls } from '../support/s3-calls.js'

const ready = async (app: Awaited<ReturnType<typeof buildTestApp>>['app']) => (await app.inject({ method: 'GET', url: '/ready' })).statusCode

t.test('20 concurrent /ready and 10 more inside READY_CACHE_MS make exactly one S3 call', async (t) => {
  const { app, bucket } = await buildTestApp(t, { READY_CACHE_MS: '30000' })
  const counter = countS3Calls(app, testS3().endpoint, bucket, t)
  const concurrent = await Promise.all(Array.from({ length: 20 }, async () => await ready(app)))
  t.same(concurrent, Array.from({ length: 20 }, () => 200), '20 concurrent probes: all 200')
  const more = await Promise.all(Array.from({ length: 10 }, async () => await ready(app)))
  t.same(more, Array.from({ length: 10 }, () => 200), '10 more: all 200')
  t.equal(counter.calls.length, 1, `one S3 call for 30 probes (${counter.calls.map((c) => c.command).join(', ')})`)
})

t.test('READY_CACHE_MS=0 checks S3 for every probe that finds no check running; concurrent ones still share', async (t) => {
  const { app, bucket } = await buildTestApp(t, { READY_CACHE_MS: '0' })
  const counter = countS3Calls(app, testS3().endpoint, bucket, t)
  for (let i = 0; i < 3; i++) t.equal(await ready(app), 200)
  t.equal(counter.calls.length, 3, 'three probes one after another: three checks')
  await Promise.all(Array.from({ length: 20 }, async () => await ready(app)))
  t.equal(counter.calls.length, 4, '20 concurrent probes: one more check')
})

t.test('the cached answer expires: a probe after READY_CACHE_MS checks S3 again', async (t) => {
  const { app, bucket } = await buildTestApp(t, { READY_CACHE_MS: '200' })
  const counter = countS3Calls(app, testS3().endpoint, bucket, t)
  t.equal(await ready(app), 200)
  t.equal(counter.calls.length, 1)
  const statuses = new Set<number>()
  let probes = 1
  const deadline = performance.now() + 10_000
  while (counter.calls.length < 2 && performance.now() < deadline) {
    statuses.add(await ready(app))
    probes++
  }
  t.same([...statuses], [200], 'every probe meanwhile: 200 from the cached answer')
  t.equal(counter.calls.length, 2, `a second check once the answer is 200 ms old (after ${probes} probes)`)
})
