// Scanning through the app with a real clamd and the real test S3: infected, clean, clamd away, a restart, the stream limit.
import { PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { FileEvent } from '../../src/events/event-model.js'
import { servedKeyOf } from '../../src/storage/record-store.js'
import { bearer, buildTestApp, listKeys, postToS3, testS3, testS3Env } from '../helper.js'
import { EICAR_SIGNATURE, eicar, startTestClamd, type TestClamd } from '../support/clamd.js'
import { startReceiver } from '../support/webhook-receiver.js'

const SECRET = `whsec_${Buffer.from('filegate-scan-test-secret').toString('base64')}`

/** Settings for quick retries and polls, so that a scan waiting for clamd is tried again within a second or two. */
function scanEnv (clamd: TestClamd, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '5000', SCAN_RETRY_SCHEDULE: Array(40).fill('500ms').join(','),
    EVENTS_POLL_INTERVAL: '200ms', EVENTS_GRACE: '2s', S3_TIMEOUT_MS: '1000', EVENTS_LEASE: '3s', WEBHOOK_TIMEOUT_MS: '1000', RATE_LIMIT_ENABLED: 'false', ...extra,
  }
}

async function upload (app: FastifyInstance, owner: string, filename: string, body: string | Uint8Array): Promise<{ key: string, file_id: string }> {
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  const posted = await postToS3(grant, body)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status}`)
  return grant
}

type Scan = { status: string, signature?: string, message?: string } | undefined

async function scanOf (app: FastifyInstance, owner: string, id: string): Promise<Scan> {
  return (await app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer(owner) })).json<{ scan?: Scan }>().scan
}

/** Polls the record until its scan is no longer pending, within `ms`. */
async function settled (app: FastifyInstance, owner: string, id: string, ms = 30_000): Promise<Scan> {
  const deadline = Date.now() + ms
  for (;;) {
    const scan = await scanOf(app, owner, id)
    if (scan?.status !== 'pending' || Date.now() > deadline) return scan
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const downloadStatus = async (app: FastifyInstance, owner: string, id: string) => await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer(owner) })

t.test('EICAR goes pending → infected (410, object gone, file.scanned sent); a clean file goes pending → clean and downloads', async (t) => {
  const clamd = await startTestClamd(t)
  const receiver = await startReceiver(t)
  const { app, s3, bucket } = await buildTestApp(t, scanEnv(clamd, { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: SECRET }))

  const infected = await upload(app, 'alice', 'notes.txt', eicar())
  const confirmed = await app.inject({ method: 'POST', url: `/files/confirm/${infected.key}`, headers: bearer('alice') })
  t.equal(confirmed.statusCode, 201)
  t.same(confirmed.json<{ scan: Scan }>().scan, { status: 'pending' }, 'confirm answers at once, with the scan pending')
  const verdict = await settled(app, 'alice', infected.file_id)
  t.match(verdict, { status: 'infected', signature: `${EICAR_SIGNATURE}.UNOFFICIAL` }, 'then infected, with the signature')
  const refused = await downloadStatus(app, 'alice', infected.file_id)
  t.equal(refused.statusCode, 410)
  t.match(refused.json(), { code: 'FILE_INFECTED', message: new RegExp(EICAR_SIGNATURE) })
  const keys = await listKeys(s3, bucket)
  t.notOk(keys.some((k) => k === infected.key || k.startsWith('_filegate/served/')), 'the object (copy and upload) is removed')
  t.equal((await app.inject({ method: 'GET', url: `/files/${infected.file_id}`, headers: bearer('alice') })).statusCode, 200, 'the record stays, for the owner to see')

  const deadline = Date.now() + 20_000
  const scannedEvent = () => receiver.requests.map((r) => JSON.parse(r.body) as { type: string, data: { file: { id: string, scan?: Scan } } })
    .find((e) => e.type === 'file.scanned' && e.data.file.id === infected.file_id)
  while (scannedEvent() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  t.match(scannedEvent()?.data.file.scan, { status: 'infected', signature: `${EICAR_SIGNATURE}.UNOFFICIAL` }, 'file.scanned was delivered with the verdict and signature')

  const clean = await upload(app, 'alice', 'notes.txt', 'nothing to see here\n')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${clean.key}`, headers: bearer('alice') })).statusCode, 201)
  t.match(await settled(app, 'alice', clean.file_id), { status: 'clean' }, 'a clean file becomes clean')
  const grant = await downloadStatus(app, 'alice', clean.file_id)
  t.equal(grant.statusCode, 200)
  t.equal(await (await fetch(grant.json<{ download_url: string }>().download_url)).text(), 'nothing to see here\n', 'and downloads')
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, '/ready: clamd answers')
})

t.test('clamd stopped: files stay pending and unserved; started again, they become clean unasked; a restart of filegate mid-scan', async (t) => {
  const clamd = await startTestClamd(t)
  const store = testS3()
  const first = await buildTestApp(t, scanEnv(clamd))
  const refused = new Map<string, number>()
  first.app.events.runner.addObserver({
    retried ({ event, consumer }) { if (consumer === 'clamav-scan') refused.set(event.data.file.id, (refused.get(event.data.file.id) ?? 0) + 1) },
  })
  await clamd.stop()
  t.equal((await first.app.inject({ method: 'GET', url: '/ready' })).statusCode, 503, '/ready reports clamd gone')
  t.equal((await first.app.inject({ method: 'GET', url: '/ready' })).json<{ code: string }>().code, 'SCANNER_UNAVAILABLE')

  const waiting = await upload(first.app, 'alice', 'a.txt', 'scanned once clamd is back\n')
  t.equal((await first.app.inject({ method: 'POST', url: `/files/confirm/${waiting.key}`, headers: bearer('alice') })).statusCode, 201)
  const interrupted = await upload(first.app, 'alice', 'b.txt', 'scanned by the next filegate\n')
  t.equal((await first.app.inject({ method: 'POST', url: `/files/confirm/${interrupted.key}`, headers: bearer('alice') })).statusCode, 201)
  // A few retries pass with clamd away (counted through the runner, not waited for blindly).
  const deadline = Date.now() + 30_000
  while ([waiting, interrupted].some((file) => (refused.get(file.file_id) ?? 0) < 2) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  for (const file of [waiting, interrupted]) t.ok((refused.get(file.file_id) ?? 0) >= 2, `${file.file_id}: its scan was tried and retried with clamd away`)
  for (const file of [waiting, interrupted]) {
    t.same(await scanOf(first.app, 'alice', file.file_id), { status: 'pending' }, 'still pending while clamd is away')
    const res = await downloadStatus(first.app, 'alice', file.file_id)
    t.equal(res.statusCode, 409, 'and not served')
    t.equal(res.json<{ code: string }>().code, 'SCAN_PENDING')
  }

  // This filegate stops with both scans unfinished; another one on the same bucket takes over.
  await first.app.close()
  const config = loadConfig({ ...testS3Env(store), LOG_LEVEL: 'silent', MAX_FILE_SIZE: '1MiB', ...scanEnv(clamd), S3_BUCKET: first.bucket })
  const second = await buildApp(config)
  t.teardown(() => second.close())
  await second.ready()
  await clamd.start()
  for (const file of [waiting, interrupted]) {
    t.match(await settled(second, 'alice', file.file_id, 60_000), { status: 'clean' }, `${file.file_id}: clean once clamd is back, with nobody asking`)
    t.equal((await downloadStatus(second, 'alice', file.file_id)).statusCode, 200, 'and served')
  }
})

t.test('a file over clamd\'s stream limit is error, not served, and says why', async (t) => {
  const clamd = await startTestClamd(t, { streamMaxLength: '1M' })
  const { app } = await buildTestApp(t, scanEnv(clamd, { CLAMD_STREAM_MAX_LENGTH: '1MiB', MAX_FILE_SIZE: '4MiB' }))
  const big = await upload(app, 'alice', 'big.txt', 'x'.repeat(2 * 1024 * 1024))
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${big.key}`, headers: bearer('alice') })).statusCode, 201)
  const scan = await settled(app, 'alice', big.file_id)
  t.match(scan, { status: 'error', message: /over clamd's stream limit of 1048576 bytes/ }, `error, with the reason (${JSON.stringify(scan)})`)
  const res = await downloadStatus(app, 'alice', big.file_id)
  t.equal(res.statusCode, 409, 'not served')
  t.match(res.json(), { code: 'SCAN_PENDING', message: /could not be scanned.*stream limit/ })
})

t.test('scanning without webhooks writes no file.scanned event, since no consumer would ever take it out of the outbox', async (t) => {
  const clamd = await startTestClamd(t)
  // A long grace: an event nobody wants would stay in the outbox for a minute before a poll removed it.
  const { app, s3, bucket } = await buildTestApp(t, scanEnv(clamd, { EVENTS_GRACE: '60s' }))
  const written: string[] = []
  app.events.runner.addObserver({ done ({ event, consumer }) { written.push(`${event.type} ${consumer}`) } })
  const file = await upload(app, 'alice', 'plain.txt', 'nothing to see here\n')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${file.key}`, headers: bearer('alice') })).statusCode, 201)
  t.match(await settled(app, 'alice', file.file_id), { status: 'clean' })
  const outbox = async () => (await listKeys(s3, bucket)).filter((k) => k.startsWith('_filegate/outbox/'))
  const deadline = Date.now() + 10_000
  let left = await outbox()
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = await outbox()
  }
  t.same(written, ['file.created clamav-scan'], 'the scanner took file.created, and nothing else was run')
  t.same(left, [], 'the outbox is empty: file.created was removed once scanned, and no file.scanned was written')
})

t.test('an infected file whose objects an earlier attempt left behind loses them when the scan is tried again', async (t) => {
  const clamd = await startTestClamd(t)
  const { app, s3, bucket } = await buildTestApp(t, scanEnv(clamd))
  const events = new Map<string, FileEvent>()
  app.events.runner.addObserver({ done ({ event, consumer }) { if (consumer === 'clamav-scan') events.set(event.data.file.id, event) } })
  const scanner = app.events.runner.consumers.find((c) => c.name === 'clamav-scan')
  if (scanner === undefined) throw new Error('no scan consumer')
  const infected = await upload(app, 'alice', 'notes.txt', eicar())
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${infected.key}`, headers: bearer('alice') })).statusCode, 201)
  t.match(await settled(app, 'alice', infected.file_id), { status: 'infected' })
  const deadline = Date.now() + 10_000
  while (!events.has(infected.file_id) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  const created = events.get(infected.file_id)
  if (created === undefined) throw new Error('the scan was not recorded as done')
  const served = servedKeyOf(created.data.file)
  const objectsLeft = async () => (await listKeys(s3, bucket)).filter((k) => k === infected.key || k === served)
  t.same(await objectsLeft(), [], 'the first scan removed the upload and its served copy')

  const context = { attempt: 1, maxAttempts: 3, signal: new AbortController().signal }
  // As if an attempt had recorded the verdict and stopped before removing anything: both objects there again.
  for (const key of new Set([infected.key, served])) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: eicar() }))
  await scanner.handle(created, context)
  t.same(await objectsLeft(), [], 'scanned again, found infected again: both removed, though the verdict was recorded already')
  // As if it had removed the served copy only: nothing left to scan, and the upload still goes.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: infected.key, Body: eicar() }))
  await scanner.handle(created, context)
  t.same(await objectsLeft(), [], 'the served copy gone: the upload left behind is removed too')
  t.match(await scanOf(app, 'alice', infected.file_id), { status: 'infected' }, 'the verdict stands')
})
