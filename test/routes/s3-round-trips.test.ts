// S3 round trips per request, counted on the app's own clients (an SDK middleware, undici's diagnostics channels): grants cost none, reads one, confirm three; with webhooks, the event writes too; a scan's own calls.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { OUTBOX_PREFIX, SEEN_PREFIX, STATE_PREFIX } from '../../src/events/event-model.js'
import { INTERNAL_PREFIX, ownerIndexPrefix, recordKeyFor } from '../../src/storage/record-store.js'
import { bearer, buildTestApp, postToS3 } from '../helper.js'
import { startTestClamd } from '../support/clamd.js'
import { EVENTS_ENV } from '../support/events.js'
import { countS3Calls, type S3Call } from '../support/s3-calls.js'
import { startReceiver, TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js'

/** The longest chain of calls each started after the previous one answered: the sequential round trips. */
function sequentialRounds (calls: readonly S3Call[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start)
  const depth = new Map<S3Call, number>()
  for (const call of sorted) {
    const before = sorted.filter((other) => other !== call && other.end <= call.start).map((other) => depth.get(other) ?? 0)
    depth.set(call, 1 + Math.max(0, ...before))
  }
  return Math.max(0, ...depth.values())
}

const describe = (calls: readonly S3Call[]) => calls.map((c) => `${c.command} ${c.key}`).join(', ')

async function grantAndUpload (app: FastifyInstance, owner: string): Promise<{ key: string, id: string }> {
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'note.txt' } })
  const grant = res.json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  const posted = await postToS3(grant, `a note from ${owner}`)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status}`)
  return { key: grant.key, id: grant.file_id }
}

t.test('round trips to S3 per request', async (t) => {
  const { app, config, bucket } = await buildTestApp(t)
  const s3 = countS3Calls(app, config.s3.endpoint ?? '', bucket, t)

  const grantCalls = await s3.during(async () => {
    for (const owner of ['alice', 'bob', 'carol']) {
      t.equal((await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'a.pdf', metadata: { n: owner } } })).statusCode, 200)
    }
  })
  t.same(grantCalls, [], 'a grant is signed in-process: no S3 call at all')

  // The first confirm of the process may probe the store's conditional writes; no later one does.
  const first = await grantAndUpload(app, 'alice')
  const firstCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${first.key}`, headers: bearer('alice') })).statusCode, 201)
  })
  t.ok(firstCalls.some((c) => c.key.startsWith(`${INTERNAL_PREFIX}probes/`)), `the first confirm probes the store (${describe(firstCalls)})`)
  // The probe (three calls in a row) runs beside the HEAD, so it adds two round trips at most, once per process.
  t.ok(sequentialRounds(firstCalls) <= 4, `the first confirm takes at most 4 sequential round trips (took ${sequentialRounds(firstCalls)})`)

  for (const owner of ['bob', 'carol']) {
    const upload = await grantAndUpload(app, owner)
    const calls = await s3.during(async () => {
      t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${upload.key}`, headers: bearer(owner) })).statusCode, 201)
    })
    t.notOk(calls.some((c) => c.key.startsWith(`${INTERNAL_PREFIX}probes/`)), `${owner}: no probe after the first confirm of the process (${describe(calls)})`)
    const copies = calls.filter((c) => c.command === 'CopyObjectCommand')
    t.equal(copies.length, 1, `${owner}: the upload is copied once`)
    const servedKey = copies[0]?.key ?? 'no copy'
    t.ok(servedKey.startsWith(`${INTERNAL_PREFIX}served/`), `${owner}: to a served key (${servedKey})`)
    const writes = calls.filter((c) => c.command === 'PutObjectCommand')
    t.same(writes.map((c) => c.key).sort(), [recordKeyFor(upload.id), writes.find((c) => c.key.startsWith(ownerIndexPrefix(owner)))?.key ?? 'no index entry written'].sort(),
      `${owner}: the record and the owner index entry are written once each`)
    const firstWrite = Math.min(...writes.map((c) => c.start))
    const copyStart = copies[0]?.start ?? Number.NEGATIVE_INFINITY
    t.ok(calls.some((c) => c.command === 'HeadObjectCommand' && c.key === upload.key && c.end <= copyStart), `${owner}: the upload is HEADed before the copy is made`)
    t.ok(calls.some((c) => c.command === 'GetObjectCommand' && c.key === upload.key && c.end <= copyStart), `${owner}: and its first bytes read`)
    t.ok((copies[0]?.end ?? Number.POSITIVE_INFINITY) <= firstWrite, `${owner}: the copy is made before the record is written`)
    // The copy's ETag is the checked one, so the copy needs no reading of its own.
    t.notOk(calls.some((c) => c.key === servedKey && c.command !== 'CopyObjectCommand'), `${owner}: the copy is not read again`)
    t.notOk(calls.some((c) => c.command === 'GetObjectCommand' && c.key === recordKeyFor(upload.id)), `${owner}: a first confirm reads no record`)
    const rounds = sequentialRounds(calls)
    t.comment(`${owner}: confirm made ${calls.length} S3 calls in ${rounds} sequential round trips: ${describe(calls)}`)
    t.equal(rounds, 3, `${owner}: confirm takes 3 sequential round trips: the upload's HEAD and ranged GET, the copy, then both writes at once`)
  }

  for (const [label, url] of [['download URL', `/files/download/${first.id}`], ['record', `/files/${first.id}`]] as const) {
    const calls = await s3.during(async () => {
      t.equal((await app.inject({ method: 'GET', url, headers: bearer('alice') })).statusCode, 200)
    })
    t.same(calls.map((c) => `${c.command} ${c.key}`), [`GetObjectCommand ${recordKeyFor(first.id)}`], `${label}: exactly one S3 call, the record read`)
  }
  const missing = await s3.during(async () => {
    t.equal((await app.inject({ method: 'GET', url: `/files/download/${first.id}`, headers: bearer('bob') })).statusCode, 404)
  })
  t.equal(missing.length, 1, 'another owner\'s file: one read, then 404')

  const deleteCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'DELETE', url: `/files/${first.id}`, headers: bearer('alice') })).statusCode, 204)
  })
  // The record read; the index entry beside the burial note; the tombstone; the copy beside the upload last.
  t.equal(sequentialRounds(deleteCalls), 4, `a DELETE takes 4 sequential round trips (${describe(deleteCalls)})`)
  t.equal(deleteCalls.length, 6, 'in 6 calls')
  t.ok(s3.calls.length > 0)
})

/** The dispatcher's own calls (its outbox poll, claims, marks, removing a delivered event), which run beside a request, not in it. */
const isDispatcherCall = (c: S3Call): boolean => c.command === 'ListObjectsV2Command' || c.key.startsWith(STATE_PREFIX) || c.key.startsWith(SEEN_PREFIX) || (c.command === 'DeleteObjectCommand' && c.key.startsWith(OUTBOX_PREFIX)) || c.command === 'DeleteObjectsCommand'

t.test('with webhooks on: the event is one more write in the same round trip, and its delivery costs the mark and a share of a batched removal', async (t) => {
  const receiver = await startReceiver(t)
  const { app, config, bucket } = await buildTestApp(t, { ...EVENTS_ENV, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET })
  const s3 = countS3Calls(app, config.s3.endpoint ?? '', bucket, t)
  const idle = async (events: number): Promise<void> => {
    await receiver.until(`${events} events`, (requests) => requests.length >= events)
    const deadline = Date.now() + 30_000
    while (app.events.runner.busy > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  // The first confirm and the first PATCH of the process probe the store; the counted ones come after them.
  const warmUp = await grantAndUpload(app, 'alice')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${warmUp.key}`, headers: bearer('alice') })).statusCode, 201)
  t.equal((await app.inject({ method: 'PATCH', url: `/files/${warmUp.id}`, headers: bearer('alice'), payload: { is_public: true } })).statusCode, 200)
  await idle(2)

  const upload = await grantAndUpload(app, 'bob')
  const confirmCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${upload.key}`, headers: bearer('bob') })).statusCode, 201)
  })
  await idle(3)
  const confirmOwn = confirmCalls.filter((c) => !isDispatcherCall(c))
  const writes = confirmOwn.filter((c) => c.command === 'PutObjectCommand')
  t.same(writes.map((c) => c.key.startsWith(OUTBOX_PREFIX) ? 'event' : c.key === recordKeyFor(upload.id) ? 'record' : c.key.startsWith(ownerIndexPrefix('bob')) ? 'index entry' : c.key).sort(),
    ['event', 'index entry', 'record'], `confirm writes the record, its index entry and its event, once each (${describe(confirmOwn)})`)
  t.equal(confirmOwn.filter((c) => c.command === 'CopyObjectCommand').length, 1, 'and makes the served copy')
  t.equal(confirmOwn.length, 7, 'confirm with webhooks: 7 S3 calls (HEAD and ranged GET, the copy and a HEAD beside it, 3 writes)')
  t.equal(sequentialRounds(confirmOwn), 3, `still 3 sequential round trips: the event is written beside the record (${describe(confirmOwn)})`)

  // Delivery of a fresh event by the process that wrote it: no claim, only the consumer's mark and the event's removal.
  const deliveryCalls = s3.calls.filter(isDispatcherCall).filter((c) => c.key.includes(upload.id))
  t.same(deliveryCalls.map((c) => `${c.command} ${c.key.startsWith(SEEN_PREFIX) ? 'mark' : c.key.startsWith(OUTBOX_PREFIX) ? 'event' : c.key}`),
    ['PutObjectCommand mark', 'DeleteObjectsCommand event'], 'the writer delivers its fresh event with the mark, then the event removed in a batched DeleteObjects')

  const patchCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'PATCH', url: `/files/${upload.id}`, headers: bearer('bob'), payload: { is_public: true } })).statusCode, 200)
  })
  await idle(4)
  const patchOwn = patchCalls.filter((c) => !isDispatcherCall(c))
  t.same(patchOwn.map((c) => `${c.command} ${c.key.startsWith(OUTBOX_PREFIX) ? 'event' : c.key === recordKeyFor(upload.id) ? 'record' : c.key}`).sort(),
    ['GetObjectCommand record', 'PutObjectCommand event', 'PutObjectCommand record'], 'PATCH: the record read, then the record and its file.updated event')
  t.equal(sequentialRounds(patchOwn), 2, `PATCH keeps its 2 sequential round trips (${describe(patchOwn)})`)

  const deleteCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'DELETE', url: `/files/${upload.id}`, headers: bearer('bob') })).statusCode, 204)
  })
  await idle(5)
  const deleteOwn = deleteCalls.filter((c) => !isDispatcherCall(c))
  t.equal(deleteOwn.filter((c) => c.command === 'PutObjectCommand' && c.key.startsWith(OUTBOX_PREFIX)).length, 1, 'DELETE writes its file.deleted event once')
  t.equal(deleteOwn.filter((c) => c.command === 'PutObjectCommand').length, 3, `DELETE writes 3 objects: the burial note, the event, the tombstone (${describe(deleteOwn)})`)
  t.equal(deleteOwn.length, 7, 'in 7 S3 calls (the record read, the index entry removed, 3 writes, the copy and the upload removed)')
  t.equal(sequentialRounds(deleteOwn), 4, `still 4 sequential round trips: the event is written beside the burial note (${describe(deleteOwn)})`)
  t.same(receiver.requests.map((r) => JSON.parse(r.body).type), ['file.created', 'file.updated', 'file.created', 'file.updated', 'file.deleted'], 'each event was delivered once')
})

const SCAN_CASES = [
  {
    name: 'a scan of a fresh small file, with the grace to scan it unclaimed: the object read, the verdict written, the mark, and a share of a batched removal',
    grace: '30s',
    calls: ['DeleteObjectsCommand event', 'GetObjectCommand record', 'GetObjectCommand served', 'PutObjectCommand mark', 'PutObjectCommand record', 'PutObjectCommand record'],
  },
  {
    name: 'a scan of a fresh file under a claim (a grace too short for the bound): the claim and its removal besides; still no state read, no mark looked for, no record read first',
    grace: '10s',
    calls: ['DeleteObjectCommand event', 'DeleteObjectCommand state', 'GetObjectCommand record', 'GetObjectCommand served', 'PutObjectCommand mark', 'PutObjectCommand record', 'PutObjectCommand record', 'PutObjectCommand state'],
  },
]

for (const scanCase of SCAN_CASES) {
  t.test(scanCase.name, async (t) => {
    const clamd = await startTestClamd(t)
    const { app, config, bucket } = await buildTestApp(t, { ...EVENTS_ENV, EVENTS_GRACE: scanCase.grace, SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '5000' })
    const s3 = countS3Calls(app, config.s3.endpoint ?? '', bucket, t)
    // Waited for through the runner, not by reading the record (which would count as S3 calls of its own).
    const done = new Set<string>()
    app.events.runner.addObserver({ done ({ event, consumer }) { if (consumer === 'clamav-scan') done.add(event.data.file.id) } })
    const scanned = async (id: string): Promise<void> => {
      const deadline = Date.now() + 30_000
      while (!done.has(id) || app.events.runner.busy > 0) {
        if (Date.now() > deadline) throw new Error(`the scan of ${id} did not finish`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    // The first confirm of the process probes the store; the counted one comes after it.
    const warmUp = await grantAndUpload(app, 'alice')
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${warmUp.key}`, headers: bearer('alice') })).statusCode, 201)
    await scanned(warmUp.id)

    const upload = await grantAndUpload(app, 'alice')
    const calls = await s3.during(async () => {
      t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${upload.key}`, headers: bearer('alice') })).statusCode, 201)
      await scanned(upload.id)
    })
    const label = (key: string): string => key === recordKeyFor(upload.id) ? 'record' : key.startsWith(STATE_PREFIX) ? 'state' : key.startsWith(SEEN_PREFIX) ? 'mark' : key.startsWith(OUTBOX_PREFIX) ? 'event' : key.startsWith(INTERNAL_PREFIX) ? key.split('/')[1] ?? key : key
    const scanCalls = calls.filter((c) => c.command !== 'ListObjectsV2Command' && (isDispatcherCall(c) || c.key === recordKeyFor(upload.id) || (c.command === 'GetObjectCommand' && c.key.startsWith(`${INTERNAL_PREFIX}served/`))))
    t.same(scanCalls.map((c) => `${c.command} ${label(c.key)}`).sort(), scanCase.calls, `confirm's record write, then the scan's calls (${describe(calls)})`)
    t.notOk(calls.some((c) => c.key.startsWith(OUTBOX_PREFIX) && c.key.includes('file.scanned')), 'no file.scanned event: no consumer wants it')
    t.match((await app.inject({ method: 'GET', url: `/files/${upload.id}`, headers: bearer('alice') })).json(), { scan: { status: 'clean' } }, 'and the verdict stands')
  })
}
