// S3 stalled (a proxy that accepts and forwards nothing): 504 within S3_TIMEOUT_MS plus a margin, /health stays up, all recovers.
import t from 'tap'
import { bearer, buildTestApp, postToS3, testS3 } from '../helper.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

const TIMEOUT_MS = 1500
/** Scheduling slack on a shared two-core machine; a retry loop ignoring the deadline would take 3 × 1500 ms. */
const MARGIN_MS = 1000

t.test('a stalled store answers 504 in bounded time, the process stays healthy, and everything works on resume', async (t) => {
  const proxy = await startTcpProxy(testS3().endpoint)
  t.teardown(() => proxy.close())
  // READY_CACHE_MS=0: /ready answers from a fresh check each time, so it sees S3 resume at once.
  const { app } = await buildTestApp(t, { S3_ENDPOINT: proxy.endpoint, S3_TIMEOUT_MS: String(TIMEOUT_MS), RATE_LIMIT_ENABLED: 'false', READY_CACHE_MS: '0' })

  const upload = async (body: string) => {
    const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
    t.equal((await postToS3(grant, body)).status, 204)
    return grant
  }
  const confirmed = await upload('confirmed before the stall')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${confirmed.key}`, headers: bearer('alice') })).statusCode, 201)
  const pending = await upload('uploaded before the stall, confirmed after')

  proxy.stall()
  const timed = async (method: 'GET' | 'POST', url: string) => {
    const started = performance.now()
    const res = await app.inject({ method, url, headers: bearer('alice') })
    return { url, res, ms: performance.now() - started }
  }
  // All at once, with liveness probed while they hang.
  const stalled = Promise.all([
    timed('GET', '/files'),
    timed('POST', `/files/confirm/${pending.key}`),
    timed('GET', `/files/${confirmed.file_id}`),
    timed('GET', `/files/download/${confirmed.file_id}`),
    timed('GET', '/ready'),
  ])
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 2))
  const health = await timed('GET', '/health')
  t.equal(health.res.statusCode, 200, '/health answers while S3 calls hang')
  t.ok(health.ms < 500, `and at once (${Math.round(health.ms)} ms)`)

  for (const { url, res, ms } of await stalled) {
    t.equal(res.statusCode, 504, `${url}: 504`)
    t.same(res.json(), { statusCode: 504, code: 'STORAGE_TIMEOUT', error: 'Gateway Timeout', message: 'The storage service did not answer in time, try again later' })
    t.ok(ms < TIMEOUT_MS + MARGIN_MS, `${url}: answered in ${Math.round(ms)} ms, within ${TIMEOUT_MS} + ${MARGIN_MS} ms`)
    t.ok(ms >= TIMEOUT_MS - 100, `${url}: after the timeout, not before (${Math.round(ms)} ms)`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the process is still healthy after the timeouts')

  proxy.resume()
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, '/ready recovers')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${pending.key}`, headers: bearer('alice') })).statusCode, 201, 'the confirm that timed out succeeds')
  const list = (await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ id: string }> }>()
  t.same(list.items.map((i) => i.id).sort(), [confirmed.file_id, pending.file_id].sort(), 'both files are listed')
  const download = (await app.inject({ method: 'GET', url: `/files/download/${confirmed.file_id}`, headers: bearer('alice') })).json<{ download_url: string }>()
  t.equal(await (await fetch(download.download_url)).text(), 'confirmed before the stall', 'and the file downloads intact')
})
