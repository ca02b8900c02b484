// POST /files/download-urls and GET /files?with=download_url: one record read per id, in parallel but bounded; missing and others' ids alike under not_found; the URLs download the right bytes.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { newFileId } from '../../src/uploads/file-id.js'
import { recordKeyFor } from '../../src/storage/record-store.js'
import { mapBounded } from '../../src/storage/bounded-map.js'
import { bearer, buildTestApp, postToS3 } from '../helper.js'
import { EICAR_SIGNATURE, eicar, startTestClamd } from '../support/clamd.js'
import { confirm, uploadFile } from '../support/flow.js'
import { countS3Calls, type S3Call } from '../support/s3-calls.js'

interface BatchAnswer {
  items: Array<{ id: string, download_url: string, expires_in: number }>
  not_found: string[]
  unavailable: Array<{ id: string, code: string, message: string }>
}

/** Uploads and confirms `count` files of `owner`, a few at a time; their ids and contents. */
async function confirmedFiles (app: FastifyInstance, owner: string, count: number): Promise<Map<string, string>> {
  const files = await mapBounded(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const content = `file ${i} of ${owner}`
    const grant = await uploadFile(app, owner, content)
    const confirmed = await confirm(app, owner, grant.key)
    if (confirmed.statusCode !== 201) throw new Error(`confirm answered ${confirmed.statusCode}`)
    return [grant.file_id, content] as const
  })
  return new Map(files)
}

/** The most calls in flight at one moment. */
function mostInFlight (calls: readonly S3Call[]): number {
  return Math.max(0, ...calls.map((call) => calls.filter((other) => other.start <= call.start && other.end > call.start).length))
}

const batch = async (app: FastifyInstance, owner: string, payload: unknown) =>
  await app.inject({ method: 'POST', url: '/files/download-urls', headers: bearer(owner), payload: payload as Record<string, unknown> })

t.test('100 ids: the caller\'s files get URLs that download their bytes; missing, deleted and another owner\'s ids are all not_found, in one record read each', async (t) => {
  const { app, config, bucket } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false' })
  const alice = await confirmedFiles(app, 'alice', 61)
  const bob = await confirmedFiles(app, 'bob', 10)
  const [deleted] = alice.keys()
  if (deleted === undefined) throw new Error('no file')
  t.equal((await app.inject({ method: 'DELETE', url: `/files/${deleted}`, headers: bearer('alice') })).statusCode, 204)
  alice.delete(deleted)
  const missing = Array.from({ length: 29 }, () => newFileId())
  // Interleaved, so that the order of the answer can be checked against the request's.
  const ids = [...alice.keys(), ...bob.keys(), deleted, ...missing].sort()
  t.equal(ids.length, 100)

  const s3 = countS3Calls(app, config.s3.endpoint ?? '', bucket, t)
  let res = await batch(app, 'alice', { ids })
  const started = performance.now()
  const calls = await s3.during(async () => { res = await batch(app, 'alice', { ids, disposition: 'inline', expires_in: 120 }) })
  t.comment(`100 ids answered in ${Math.round(performance.now() - started)} ms with ${calls.length} S3 calls`)
  t.equal(res.statusCode, 200)
  const answer = res.json<BatchAnswer>()

  t.same(answer.items.map((item) => item.id), ids.filter((id) => alice.has(id)), 'a URL for each of alice\'s 60 files, in the request\'s order')
  t.same([...answer.not_found].sort(), [...bob.keys(), deleted, ...missing].sort(), 'bob\'s 10, the deleted one and the 29 missing ids, all under not_found')
  t.same(answer.unavailable, [], 'nothing held back (scanning is off)')
  t.ok(answer.items.every((item) => item.expires_in === 120), 'expires_in as asked')

  t.ok(calls.length <= ids.length, `at most one S3 call per id (${calls.length} for ${ids.length})`)
  t.same(calls.map((c) => `${c.command} ${c.key}`).sort(), ids.map((id) => `GetObjectCommand ${recordKeyFor(id)}`).sort(), 'each call is one record read, once per id')
  const inFlight = mostInFlight(calls)
  t.ok(inFlight > 1 && inFlight <= 16, `the reads run in parallel, at most 16 at once (${inFlight})`)

  const downloads = await Promise.all(answer.items.map(async (item) => {
    const got = await fetch(item.download_url)
    return { ok: got.status === 200 && await got.text() === alice.get(item.id), disposition: got.headers.get('content-disposition') ?? '' }
  }))
  t.equal(downloads.filter((d) => d.ok).length, 60, 'every URL downloads the bytes of its own file')
  t.ok(downloads.every((d) => d.disposition.startsWith('attachment')), 'text is never inline, whatever was asked')

  // A repeated id is read and answered once.
  const first = [...alice.keys()][0] ?? ''
  const twice = (await batch(app, 'alice', { ids: [first, first, missing[0]] })).json<BatchAnswer>()
  t.same([twice.items.map((i) => i.id), twice.not_found], [[first], [missing[0]]], 'a repeated id is answered once')
  // The same ids asked by bob: only his.
  const asBob = (await batch(app, 'bob', { ids })).json<BatchAnswer>()
  t.same(asBob.items.map((i) => i.id).sort(), [...bob.keys()].sort(), 'bob gets URLs for his files only')
})

t.test('GET /files?with=download_url: each listed file carries a URL that downloads it, for no more S3 calls than the listing', async (t) => {
  const { app, config, bucket } = await buildTestApp(t)
  const files = await confirmedFiles(app, 'alice', 5)
  const s3 = countS3Calls(app, config.s3.endpoint ?? '', bucket, t)
  const plainCalls = await s3.during(async () => { await app.inject({ method: 'GET', url: '/files?limit=10', headers: bearer('alice') }) })
  let res = await app.inject({ method: 'GET', url: '/files?limit=10', headers: bearer('alice') })
  t.notOk(res.json<{ items: Array<{ download_url?: string }> }>().items.some((item) => 'download_url' in item), 'no URLs unless asked')
  const withCalls = await s3.during(async () => { res = await app.inject({ method: 'GET', url: '/files?limit=10&with=download_url', headers: bearer('alice') }) })
  t.equal(res.statusCode, 200)
  t.equal(withCalls.length, plainCalls.length, `URLs cost no S3 call (${withCalls.length} calls, as without)`)
  const page = res.json<{ items: Array<{ id: string, download_url?: string }>, download_expires_in?: number }>()
  t.equal(page.items.length, 5)
  t.equal(page.download_expires_in, config.downloads.urlExpiresSeconds)
  for (const item of page.items) t.equal(await (await fetch(item.download_url ?? 'http://127.0.0.1:9/')).text(), files.get(item.id), `${item.id} downloads its bytes`)
  const bad = await app.inject({ method: 'GET', url: '/files?with=everything', headers: bearer('alice') })
  t.match([bad.statusCode, bad.json()], [400, { code: 'VALIDATION_ERROR' }], 'an unknown with= is a 400')
})

t.test('bad requests are 400 VALIDATION_ERROR; no token is 401; the read budget applies', async (t) => {
  const { app } = await buildTestApp(t, { READ_RATE_LIMIT_MAX: '12', READ_RATE_LIMIT_WINDOW: '1m' })
  const cases: Array<[string, unknown]> = [
    ['an empty list', { ids: [] }],
    ['101 ids', { ids: Array.from({ length: 101 }, () => newFileId()) }],
    ['an id that is not a file id', { ids: [newFileId(), 'not-an-id'] }],
    ['a UUID v4', { ids: ['0b5cfa3e-8e7a-4b6b-9c1d-2f3e4a5b6c7d'] }],
    ['no ids', {}],
    ['an unknown field', { ids: [newFileId()], variant: 'thumb' }],
    ['a bad disposition', { ids: [newFileId()], disposition: 'download' }],
    ['expires_in beyond 7 days', { ids: [newFileId()], expires_in: 604801 }],
  ]
  for (const [label, payload] of cases) {
    const res = await batch(app, 'alice', payload)
    t.match([res.statusCode, res.json()], [400, { statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request', message: String }], `${label}: 400 VALIDATION_ERROR`)
  }
  const anonymous = await app.inject({ method: 'POST', url: '/files/download-urls', payload: { ids: [newFileId()] } })
  t.match([anonymous.statusCode, anonymous.json()], [401, { code: 'UNAUTHORIZED' }], 'no token: 401')
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await batch(app, 'alice', { ids: [newFileId()] })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 429], 'the owner\'s read budget (12, 8 spent on bad requests) runs out: 429')
})

t.test('with scanning, only clean files get URLs: pending and infected ones are listed under unavailable with their codes', async (t) => {
  const clamd = await startTestClamd(t)
  const { app } = await buildTestApp(t, {
    SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '5000', SCAN_RETRY_SCHEDULE: Array(40).fill('500ms').join(','),
    EVENTS_POLL_INTERVAL: '200ms', EVENTS_GRACE: '2s', S3_TIMEOUT_MS: '1000', EVENTS_LEASE: '3s', WEBHOOK_TIMEOUT_MS: '1000', RATE_LIMIT_ENABLED: 'false',
  })
  const upload = async (body: string) => {
    const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'notes.txt' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
    t.equal((await postToS3(grant, body)).status, 204)
    t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
    return grant.file_id
  }
  const scanOf = async (id: string) => (await app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer('alice') })).json<{ scan?: { status: string } }>().scan?.status
  const settled = async (id: string) => {
    const deadline = Date.now() + 30_000
    while (await scanOf(id) === 'pending' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    return await scanOf(id)
  }
  const clean = await upload('nothing to see here\n')
  const infected = await upload(eicar())
  t.equal(await settled(clean), 'clean')
  t.equal(await settled(infected), 'infected')
  await clamd.stop()
  const pending = await upload('waits for clamd\n')
  t.equal(await scanOf(pending), 'pending', 'clamd is away: the third stays pending')

  const answer = (await batch(app, 'alice', { ids: [clean, infected, pending] })).json<BatchAnswer>()
  t.same(answer.items.map((i) => i.id), [clean], 'the clean file gets a URL')
  t.equal(await (await fetch(answer.items[0]?.download_url ?? 'http://127.0.0.1:9/')).text(), 'nothing to see here\n')
  t.match(answer.unavailable, [{ id: infected, code: 'FILE_INFECTED', message: new RegExp(EICAR_SIGNATURE) }, { id: pending, code: 'SCAN_PENDING' }], 'the others are held back, with what a single download answers')
  t.same(answer.not_found, [])
  for (const [id, status] of [[infected, 410], [pending, 409]] as const) {
    t.equal((await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer('alice') })).statusCode, status, 'the same verdicts as a single download')
  }
  const listed = (await app.inject({ method: 'GET', url: '/files?with=download_url', headers: bearer('alice') })).json<{ items: Array<{ id: string, download_url?: string }> }>()
  t.same(listed.items.filter((i) => i.download_url !== undefined).map((i) => i.id), [clean], 'the listing signs a URL for the clean file only')
})
