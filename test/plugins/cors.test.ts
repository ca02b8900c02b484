// API CORS: a preflight from an origin not in CORS_ORIGINS gets no allow-origin header; a listed origin does.
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { TEST_JWT_SECRET } from '../helper.js'

const LISTED = 'https://app.example.com'

async function appWith (t: Test, origins: string) {
  const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_ENDPOINT: 'http://127.0.0.1:9', CORS_ORIGINS: origins, JWT_SECRET: TEST_JWT_SECRET }))
  t.teardown(() => app.close())
  return app
}

const preflight = (origin: string, method = 'POST', url = '/files/upload-url') => ({
  method: 'OPTIONS' as const,
  url,
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
})

t.test('only listed origins are allowed', async (t) => {
  const app = await appWith(t, `${LISTED}, https://admin.example.com`)
  for (const [url, method] of [['/files/upload-url', 'POST'], ['/files/0190a0a0-0000-7000-8000-000000000000', 'PATCH'], ['/files/download/x', 'GET']] as const) {
    const listed = await app.inject(preflight(LISTED, method, url))
    t.equal(listed.statusCode, 204, `listed origin, ${method} ${url}: preflight answered`)
    t.equal(listed.headers['access-control-allow-origin'], LISTED, 'and allowed')
    t.match(String(listed.headers['access-control-allow-methods']), new RegExp(method))
    t.match(String(listed.headers['access-control-allow-headers']).toLowerCase(), /authorization/)
    t.match(String(listed.headers.vary), /Origin/, 'Vary: Origin, so caches keep origins apart')
  }
  for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.example', 'http://app.example.com', 'null', 'https://APP.example.com:444']) {
    const res = await app.inject(preflight(origin))
    t.equal(res.headers['access-control-allow-origin'], undefined, `${origin}: no allow-origin header`)
  }
  const simple = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example.com' } })
  t.equal(simple.headers['access-control-allow-origin'], undefined, 'nor on a simple request from an unlisted origin')
  const allowed = await app.inject({ method: 'GET', url: '/health', headers: { origin: LISTED } })
  t.equal(allowed.headers['access-control-allow-origin'], LISTED, 'which a listed origin gets')
})

t.test('empty CORS_ORIGINS allows no origin; * allows any', async (t) => {
  const none = await appWith(t, '')
  t.equal((await none.inject(preflight(LISTED))).headers['access-control-allow-origin'], undefined, 'empty: none')
  const any = await appWith(t, '*')
  t.equal((await any.inject(preflight('https://anyone.example'))).headers['access-control-allow-origin'], '*', '*: any')
})
