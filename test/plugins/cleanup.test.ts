// The in-process orphan sweep: off by default; every CLEANUP_INTERVAL when set; never two at once; stopped by close.
import t from 'tap'
import { buildTestApp, listKeys } from '../helper.js'
import { confirm, fileTraces, uploadFile } from '../support/flow.js'

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('off by default', async (t) => {
  const { app } = await buildTestApp(t)
  await sleep(1500)
  t.equal(app.cleanup.status().runs, 0, 'no sweep ran')
})

t.test('CLEANUP_INTERVAL sweeps orphans, one sweep at a time, and close stops it', async (t) => {
  // A grant must outlive its own POST on a busy machine (1 s did not, once, with four test files at a time); the orphan
  // age only has to exceed it.
  const { app, s3, bucket } = await buildTestApp(t, { UPLOAD_URL_EXPIRES: '4s', ORPHAN_TTL: '5s', CLEANUP_INTERVAL: '1s', RATE_LIMIT_ENABLED: 'false' })
  const confirmed = await uploadFile(app, 'alice', 'confirmed')
  t.equal((await confirm(app, 'alice', confirmed.key)).statusCode, 201)
  const orphan = await uploadFile(app, 'bob', 'abandoned')

  const deadline = Date.now() + 30_000
  while ((await listKeys(s3, bucket, orphan.key)).length > 0 && Date.now() < deadline) await sleep(250)
  t.same(await listKeys(s3, bucket, orphan.key), [], 'the orphan was deleted by the interval sweep')
  t.ok(app.cleanup.status().runs >= 1, `after ${app.cleanup.status().runs} sweeps`)
  t.same(await fileTraces(s3, bucket, 'alice', confirmed), { object: true, record: true, indexEntry: true }, 'the confirmed file is untouched')

  // Asked twice at once (or by the timer meanwhile), one sweep runs and both callers get its summary.
  while (app.cleanup.status().running) await sleep(20)
  const runs = app.cleanup.status().runs
  const first = app.cleanup.runNow()
  const second = app.cleanup.runNow()
  t.equal(first, second, 'the second call joins the running sweep')
  t.ok(app.cleanup.status().running)
  t.equal(await first, await second)
  t.equal(app.cleanup.status().runs, runs + 1, 'one sweep ran for both')

  await app.close()
  const closedAt = app.cleanup.status().runs
  await sleep(2500)
  t.equal(app.cleanup.status().runs, closedAt, 'no sweep runs after close')
})
