// Security headers: helmet's set on every answer, and a Content-Security-Policy that Swagger UI at /docs runs under in Chromium.
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { TEST_JWT_SECRET } from '../helper.js'
import { s3BrowserOrigins } from '../../src/plugins/security-headers.js'
import { launchChromium } from '../browser/setup.js'

const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_ENDPOINT: 'http://127.0.0.1:9', S3_PUBLIC_ENDPOINT: 'http://localhost:9000', S3_FORCE_PATH_STYLE: 'true', JWT_SECRET: TEST_JWT_SECRET })

function directives (header: unknown): Map<string, string[]> {
  return new Map(String(header).split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0] !== '').map(([name = '', ...values]) => [name, values]))
}

t.test('every answer carries the security headers', async (t) => {
  const app = await buildApp(config)
  t.teardown(() => app.close())
  for (const url of ['/health', '/files', '/docs/', '/no-such-route']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', `${url}: no framing`)
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.ok(res.headers['strict-transport-security'], `${url}: HSTS`)
    t.equal(res.headers['x-powered-by'], undefined)
    const csp = directives(res.headers['content-security-policy'])
    t.same(csp.get('script-src'), ["'self'"], `${url}: scripts only from this origin, none inline, no eval`)
    t.same(csp.get('object-src'), ["'none'"])
    t.same(csp.get('frame-ancestors'), ["'none'"])
    t.notOk(csp.has('upgrade-insecure-requests'), 'no upgrade of plain-http development stores')
    t.same(csp.get('connect-src'), ["'self'", 'http://localhost:9000'], `${url}: pages may POST to the public S3 endpoint`)
  }
})

t.test('the S3 origins follow the endpoint browsers use', (t) => {
  const s3 = config.s3
  t.same(s3BrowserOrigins({ ...s3, publicEndpoint: undefined, endpoint: 'https://minio.example.com:9000', forcePathStyle: false }),
    ['https://minio.example.com:9000', 'https://filegate.minio.example.com:9000'], 'virtual-hosted style adds the bucket host')
  t.same(s3BrowserOrigins({ ...s3, publicEndpoint: undefined, endpoint: undefined, region: 'eu-west-3' })[0], 'https://filegate.s3.eu-west-3.amazonaws.com', 'AWS')
  t.end()
})

t.test('Swagger UI at /docs renders under the policy in Chromium, with no violation', async (t) => {
  const app = await buildApp(config)
  t.teardown(() => app.close())
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const violations: string[] = []
  page.on('console', (message) => { if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text()) })
  page.on('pageerror', (error) => { violations.push(`uncaught: ${error.message}`) })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => { console.error(`Refused to load: ${event.violatedDirective} ${event.blockedURI}`) })
  })
  const response = await page.goto(`${origin}/docs/`)
  t.ok(response?.headers()['content-security-policy']?.includes("script-src 'self'"), 'the page is served with the policy')
  await page.waitForSelector('.opblock', { timeout: 20_000 })
  const operations = await page.locator('.opblock').count()
  t.ok(operations >= 8, `Swagger UI lists ${operations} operations`)
  // Execute on /health (try-it-out is on by default): a fetch to this origin, which connect-src must allow.
  await page.locator('#operations-health-checkHealth .opblock-summary').click()
  const [health] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${origin}/health`),
    page.locator('#operations-health-checkHealth .execute').click(),
  ])
  t.equal(health.status(), 200, 'Execute reaches the API')
  const status = page.locator('#operations-health-checkHealth .live-responses-table tbody .response-col_status').first()
  await status.waitFor({ timeout: 20_000 })
  t.match(await status.innerText(), /200/, 'and Swagger UI shows the answer')
  t.same(violations, [], 'no CSP violation, no page error')
})
