// A scan that gets no verdict is tried again, never turned into a final answer early: clamd refusing connections (a real
// clamd stopped, then started), clamd answering an error, and the last attempt of the schedule recorded as error.
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { bearer, buildTestApp, postToS3 } from '../helper.js'
import { startTestClamd, type TestClamd } from '../support/clamd.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

/** Quick retries and polls; `schedule` is SCAN_RETRY_SCHEDULE (attempts = its delays + 1). */
function scanEnv (clamd: { host: string, port: number }, schedule: string): Record<string, string> {
  return {
    SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '5000', SCAN_RETRY_SCHEDULE: schedule,
    EVENTS_POLL_INTERVAL: '100ms', EVENTS_GRACE: '2s', S3_TIMEOUT_MS: '1000', EVENTS_LEASE: '5s', WEBHOOK_TIMEOUT_MS: '1000', RATE_LIMIT_ENABLED: 'false',
  }
}

async function uploadAndConfirm (app: FastifyInstance, body: string): Promise<string> {
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt' } }))
    .json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  const posted = await postToS3(grant, body)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status}`)
  const confirmed = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  if (confirmed.statusCode !== 201) throw new Error(`confirm answered ${confirmed.statusCode}`)
  return grant.file_id
}

type Scan = { status: string, signature?: string, message?: string } | undefined
const scanOf = async (app: FastifyInstance, id: string): Promise<Scan> =>
  (await app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer('alice') })).json<{ scan?: Scan }>().scan

async function until<T> (what: string, get: () => T | Promise<T>, done: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await get()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The scan consumer's failed attempts for `fileId`, as the runner reports them (the error each attempt ended with). */
function failedAttempts (app: FastifyInstance): Map<string, string[]> {
  const failures = new Map<string, string[]>()
  app.events.runner.addObserver({
    retried ({ event, consumer, error }) {
      if (consumer === 'clamav-scan') failures.set(event.data.file.id, [...(failures.get(event.data.file.id) ?? []), error])
    },
  })
  return failures
}

/** A proxy in front of the real clamd: `intercept` answers a connection itself (and says so), or it goes through to clamd. */
async function frontOfClamd (t: Test, clamd: TestClamd, intercept: (client: Socket) => boolean): Promise<TcpProxy> {
  const front = await startTcpProxy(`tcp://${clamd.host}:${clamd.port}`, { intercept })
  t.teardown(() => front.close())
  return front
}

t.test('clamd refusing connections: every attempt fails and is retried, the file stays pending and unserved; clamd back: clean, unasked', async (t) => {
  const clamd: TestClamd = await startTestClamd(t)
  // Plenty of attempts: this test is about retrying, not about the schedule running out.
  const { app } = await buildTestApp(t, scanEnv(clamd, Array(40).fill('200ms').join(',')))
  const failures = failedAttempts(app)
  await clamd.stop()

  const id = await uploadAndConfirm(app, 'scanned once clamd takes connections again\n')
  const seen = await until('three refused attempts', () => failures.get(id) ?? [], (errors) => errors.length >= 3)
  t.ok(seen.every((error) => /ECONNREFUSED/.test(error)), `each attempt was refused by the stopped clamd (${seen[0]})`)
  t.same(await scanOf(app, id), { status: 'pending' }, 'refusals are no verdict: still pending, not error')
  const download = await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer('alice') })
  t.equal(download.statusCode, 409, 'and not served')
  t.equal(download.json<{ code: string }>().code, 'SCAN_PENDING')

  await clamd.start()
  t.match(await until('the verdict', () => scanOf(app, id), (scan) => scan?.status !== 'pending'), { status: 'clean' }, 'clamd back: clean without anyone asking')
  t.equal((await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer('alice') })).statusCode, 200, 'and served')
})

t.test('clamd answering an error that is not its size limit: retried, then clean once clamd answers OK', async (t) => {
  const clamd = await startTestClamd(t)
  // In front of the real clamd: the first two scans get an error answer, as an overloaded clamd gives; the rest go through.
  let errorsLeft = 2
  const front = await frontOfClamd(t, clamd, (client) => {
    if (errorsLeft === 0) return false
    errorsLeft--
    client.once('data', () => client.end('stream: Can\'t allocate memory ERROR\0'))
    return true
  })
  const { app } = await buildTestApp(t, scanEnv(front, Array(10).fill('200ms').join(',')))
  const failures = failedAttempts(app)

  const id = await uploadAndConfirm(app, 'clean, once clamd can answer\n')
  const scan = await until('the verdict', () => scanOf(app, id), (s) => s?.status !== 'pending')
  t.match(scan, { status: 'clean' }, 'clamd\'s error answers were no verdict: tried again until clamd answered OK')
  t.equal(errorsLeft, 0, 'both error answers were given')
  t.match(failures.get(id), [/clamd answered: stream: Can't allocate memory ERROR/, /clamd answered: stream: Can't allocate memory ERROR/], 'two failed attempts, each with clamd\'s answer')
})

t.test('no verdict by the last attempt of SCAN_RETRY_SCHEDULE: error with the reason, not served, not pending for ever', async (t) => {
  const clamd = await startTestClamd(t)
  const { app } = await buildTestApp(t, scanEnv(clamd, '100ms,100ms'))
  const failures = failedAttempts(app)
  await clamd.stop()

  const id = await uploadAndConfirm(app, 'clamd never comes back for this one\n')
  const scan = await until('the verdict', () => scanOf(app, id), (s) => s?.status !== 'pending')
  t.match(scan, { status: 'error', message: /no verdict after 3 attempts.*ECONNREFUSED/ }, `error after the schedule's three attempts (${JSON.stringify(scan)})`)
  t.equal(failures.get(id)?.length, 2, 'the first two attempts were retried; the third recorded the error')
  const download = await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer('alice') })
  t.equal(download.statusCode, 409, 'not served')
  t.match(download.json(), { code: 'SCAN_PENDING', message: /could not be scanned.*no verdict after 3 attempts/ })
})

t.test('a small file\'s scan that stalls is given up at its bound, though clamd\'s own silence timeout is longer, and tried again', async (t) => {
  const clamd = await startTestClamd(t)
  // In front of the real clamd: the first scan is taken in and never answered; the rest go through.
  let stallsLeft = 1
  const front = await frontOfClamd(t, clamd, (client) => {
    if (stallsLeft === 0) return false
    stallsLeft--
    client.resume()
    return true
  })
  // A grace long enough for a bounded scan to run unclaimed, and a silence timeout far past the bound.
  const { app } = await buildTestApp(t, { ...scanEnv(front, '200ms,200ms'), EVENTS_GRACE: '30s', S3_TIMEOUT_MS: '5000', CLAMD_TIMEOUT_MS: '120000' })
  const failures = failedAttempts(app)
  const started = Date.now()
  const id = await uploadAndConfirm(app, 'clean, once clamd answers\n')
  const scan = await until('the verdict', () => scanOf(app, id), (s) => s?.status !== 'pending', 60_000)
  const took = Date.now() - started
  t.match(scan, { status: 'clean' }, 'clean on the next attempt')
  t.match(failures.get(id), [/the scan did not finish within 10 s, the bound for a file of up to 16 MiB/], 'the stalled attempt was given up at the bound, with the reason')
  t.ok(took >= 10_000 && took < 60_000, `given up after the 10 s bound, not clamd's 120 s silence (${took} ms)`)
})
