// S3 stopped: 503 STORAGE_UNAVAILABLE in the shared shape, /ready 503, and both recover when S3 is back.
import t from 'tap'
import { bearer, buildTestApp, postToS3, testS3 } from '../helper.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

t.test('a stopped store answers 503 and recovers', async (t) => {
  const proxy = await startTcpProxy(testS3().endpoint)
  t.teardown(() => proxy.close())
  // READY_CACHE_MS=0: /ready answers from a fresh check each time, so it sees S3 go and come back at once.
  const { app } = await buildTestApp(t, { S3_ENDPOINT: proxy.endpoint, S3_TIMEOUT_MS: '3000', READY_CACHE_MS: '0' })

  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt' } })).json<{ url: string, key: string, fields: Record<string, string> }>()
  t.equal((await postToS3(grant, 'survives')).status, 204)
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)

  await proxy.stop()
  for (const [method, url] of [['GET', '/files'], ['POST', `/files/confirm/${grant.key}`], ['GET', '/ready']] as const) {
    const res = await app.inject({ method, url, headers: bearer('alice') })
    t.equal(res.statusCode, 503, `${method} ${url}: 503 while S3 is down`)
    t.same(res.json(), { statusCode: 503, code: 'STORAGE_UNAVAILABLE', error: 'Service Unavailable', message: 'The storage service is unavailable, try again later' })
    t.notMatch(res.body, /ECONNREFUSED|at |node_modules/, 'no internals in the body')
  }
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'liveness stays up')

  await proxy.start()
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, '/ready recovers')
  const confirm = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  t.equal(confirm.statusCode, 201, 'the confirm that failed succeeds once S3 is back')
  t.equal((await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json().items.length, 1)
})
