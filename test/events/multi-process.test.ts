// Three filegate processes dispatching from one bucket, 1,000 files confirmed across them: every event delivered at least once; duplicates and the delivery lag are reported.
import t from 'tap'
import { OUTBOX_PREFIX } from '../../src/events/event-model.js'
import { listKeys, s3ClientFor, testS3 } from '../helper.js'
import { startFleet } from '../support/fleet.js'
import { uploadAndConfirm } from '../support/http-flow.js'
import { startReceiver, TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js'

const FILES = 1000
const CONCURRENCY = 12

t.setTimeout(900_000)

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN

t.test(`three processes, ${FILES} files: every event delivered, duplicates and lag reported`, async (t) => {
  const receiver = await startReceiver(t)
  const { bucket, instances } = await startFleet(t, ['one', 'two', 'three'], {
    RATE_LIMIT_ENABLED: 'false',
    S3_TIMEOUT_MS: '5000',
    EVENTS_GRACE: '10s',
    EVENTS_POLL_INTERVAL: '1s',
    // Within the grace: each writer delivers its fresh events without a claim, as with the defaults (15 s of 30 s).
    WEBHOOK_TIMEOUT_MS: '5000',
    WEBHOOK_RETRY_SCHEDULE: '1s,2s,5s,10s,10s',
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  })
  const started = Date.now()
  const fileIds: string[] = []
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < FILES) {
      const n = next++
      const instance = instances[n % instances.length]
      if (instance === undefined) throw new Error('no instance')
      const upload = await uploadAndConfirm(`http://127.0.0.1:${instance.port}`, `owner-${n % 50}`, `file ${n}`)
      if (upload.status !== 201) throw new Error(`confirm ${n} answered ${upload.status}`)
      fileIds.push(upload.fileId)
    }
  }))
  const confirmedIn = Date.now() - started
  t.equal(fileIds.length, FILES, `${FILES} files confirmed across ${instances.length} processes in ${(confirmedIn / 1000).toFixed(1)} s`)

  const wanted = new Set(fileIds.map((id) => `file.created.${id}.`))
  const deliveredIds = (): Set<string> => new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])))
  await receiver.until(`all ${FILES} events`, () => [...deliveredIds()].filter((id) => wanted.has(id.slice(0, id.indexOf('.r') + 1))).length >= FILES, 600_000)
  // Anything left (a retry, a claim being released) has its chance to make a duplicate before counting.
  const s3 = s3ClientFor(testS3())
  t.teardown(() => s3.destroy())
  const drainDeadline = Date.now() + 60_000
  while ((await listKeys(s3, bucket, OUTBOX_PREFIX)).length > 0 && Date.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 500))
  t.same(await listKeys(s3, bucket, OUTBOX_PREFIX), [], 'the outbox drained')

  const ids = receiver.requests.map((r) => String(r.headers['webhook-id']))
  const duplicates = ids.length - new Set(ids).size
  const lags = receiver.requests.map((r) => r.at - Date.parse((JSON.parse(r.body) as { timestamp: string }).timestamp)).sort((x, y) => x - y)
  t.equal(new Set(ids).size, FILES, 'every event delivered at least once, and no other event')
  t.comment(`deliveries: ${ids.length}, distinct events: ${new Set(ids).size}, duplicates: ${duplicates}`)
  t.comment(`delivery lag (change to receipt): p50 ${percentile(lags, 0.5)} ms, p99 ${percentile(lags, 0.99)} ms, max ${lags.at(-1)} ms`)
  t.ok(duplicates <= FILES / 100, `duplicates are rare (${duplicates})`)
})
