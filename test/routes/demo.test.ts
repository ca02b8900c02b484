// The /demo route: the page's files with their types and the headers the page relies on, the settings it reads, and DEMO_PAGE's defaults.
import t, { type Test } from 'tap'
import { buildApp, type AppOptions } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'

// No S3 call is made: an address where nothing listens will do. No load shedding: a busy test machine could trip it.
const ENV = {
  NODE_ENV: 'test', LOG_LEVEL: 'silent', LOAD_SHED_MAX_EVENT_LOOP_DELAY: '0', S3_ENDPOINT: 'http://127.0.0.1:9', S3_FORCE_PATH_STYLE: 'true',
  AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', JWT_SECRET: 'demo-route-test-secret-0123456789-abcdefgh',
}

async function appWith (t: Test, env: Record<string, string> = {}, options: AppOptions = {}) {
  const app = await buildApp(loadConfig({ ...ENV, ...env }), { logger: false, ...options })
  t.teardown(() => app.close())
  return app
}

t.test('DEMO_PAGE is on by default, off by default in production, and either way when set', async (t) => {
  const production = { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-of-32-chars!' }
  t.equal(loadConfig({}).demoPage, true, 'on in development (the embedded store)')
  t.equal(loadConfig({ ...ENV }).demoPage, true, 'on in tests')
  t.equal(loadConfig(production).demoPage, false, 'off in production')
  t.equal(loadConfig({ ...production, DEMO_PAGE: 'true' }).demoPage, true, 'on in production when asked')
  t.equal(loadConfig({ DEMO_PAGE: 'false' }).demoPage, false, 'off in development when asked')
  t.throws(() => loadConfig({ DEMO_PAGE: 'maybe' }), new ConfigError(['DEMO_PAGE must be true or false: whether to serve the example upload page at /demo; unset means on unless NODE_ENV is production (got "maybe")']), 'a value that is not a boolean is refused, naming DEMO_PAGE')
})

t.test('the page and its files are served with their types, under a CSP that lets the page reach S3', async (t) => {
  const app = await appWith(t)
  const types = {
    '/demo': 'text/html', '/demo/': 'text/html', '/demo/demo.js': 'text/javascript', '/demo/page.js': 'text/javascript', '/demo/my-files.js': 'text/javascript', '/demo/demo.css': 'text/css',
  }
  for (const [url, type] of Object.entries(types)) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 200, `GET ${url}${response.statusCode === 200 ? '' : `: ${response.body.slice(0, 200)}`}`)
    t.match(response.headers['content-type'], type, `${url} is ${type}`)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${url} may not be sniffed`)
  }
  const page = await app.inject({ method: 'GET', url: '/demo' })
  t.match(page.body, '<script type="module" src="/demo/demo.js"></script>', 'the page loads its script from /demo')
  t.match(page.body, '<link rel="stylesheet" href="/demo/demo.css">', 'and its style sheet')
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /(^|;)\s*script-src 'self'(;|$)/, 'scripts come from filegate only')
  t.match(csp, /(^|;)\s*connect-src 'self' http:\/\/127\.0\.0\.1:9(;|$)/, 'the page may connect to S3')

  for (const url of ['/demo/tsconfig.json', '/demo/../package.json', '/demo/index.html.bak']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, `GET ${url} is not served`)
  }
})

t.test('settings.json gives the limits, and a development token only when the server passes one', async (t) => {
  const app = await appWith(t, { MAX_FILE_SIZE: '3MiB', ALLOWED_CONTENT_TYPES: 'image/*,application/pdf' })
  const response = await app.inject({ method: 'GET', url: '/demo/settings.json' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store', 'it is never cached')
  t.same(response.json(), {
    token: null, max_file_size: 3 * 1024 * 1024, allowed_content_types: ['image/*', 'application/pdf'], owner_claim: 'sub', scanning: false, variants: [], variant_types: [],
  })
  const features = await appWith(t, { SCANNER: 'clamav', VARIANTS: 'thumb:128,preview:800', JWT_OWNER_CLAIM: 'email' })
  t.match((await features.inject({ method: 'GET', url: '/demo/settings.json' })).json(), {
    owner_claim: 'email', scanning: true, variants: ['thumb', 'preview'], variant_types: ['image/jpeg', 'image/png'],
  }, 'the owner claim, scanning and the variants, for the page to name the owner and show scan status and thumbnails')

  let signed = 0
  const withToken = await appWith(t, {}, { developmentToken: () => `development-token-${++signed}` })
  t.equal((await withToken.inject({ method: 'GET', url: '/demo/settings.json' })).json<{ token: unknown }>().token, 'development-token-1')
  t.equal((await withToken.inject({ method: 'GET', url: '/demo/settings.json' })).json<{ token: unknown }>().token, 'development-token-2', 'a fresh token each time, so a long-running server never offers an expired one')
})

t.test('with DEMO_PAGE=false there is no /demo, and the page is never in the OpenAPI document', async (t) => {
  const off = await appWith(t, { DEMO_PAGE: 'false' })
  for (const url of ['/demo', '/demo/demo.js', '/demo/settings.json']) {
    const response = await off.inject({ method: 'GET', url })
    t.equal(response.statusCode, 404, `GET ${url} is 404`)
    t.equal(response.json<{ code: string }>().code, 'ROUTE_NOT_FOUND')
  }
  const on = await appWith(t)
  const document = (await on.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>()
  t.same(Object.keys(document.paths).filter((path) => path.startsWith('/demo')), [], 'no /demo path is documented')
})
