// Tests configuration: defaults, parsing of durations, sizes and type lists, and one ConfigError naming every bad variable.
import t, { type Test } from 'tap'
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig, PUBLIC_JWT_SECRETS, parseDurationSeconds, type Config } from '../src/config.js'

type Env = Record<string, string | undefined>

const SECRET = 'a-production-secret-of-32-chars!'
const PUBLIC_KEY = '-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\\n-----END PUBLIC KEY-----'

/** The ConfigError loadConfig throws for env, or undefined when it accepts it. Other errors propagate and fail the test. */
function refusal (env: Env): ConfigError | undefined {
  try {
    loadConfig(env)
    return undefined
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
}

/** Asserts that env is refused with one ConfigError whose message names each variable. */
function assertRefused (t: Test, env: Env, names: readonly string[], what: string): void {
  const err = refusal(env)
  t.ok(err instanceof ConfigError, `${what}: refused with a ConfigError`)
  for (const name of names) t.match(err?.message ?? '', new RegExp(`\\b${name}\\b`), `${what}: the message names ${name}`)
}

const DEFAULTS: Config = {
  production: false,
  port: 3000,
  host: '127.0.0.1',
  logLevel: 'info',
  s3: {
    bucket: 'filegate',
    region: 'us-east-1',
    endpoint: undefined,
    publicEndpoint: undefined,
    forcePathStyle: false,
    timeoutMs: 10000,
    client: 'lean',
    credentials: undefined,
  },
  embedded: { port: 4568, dir: '.data/s3' },
  uploads: {
    maxFileSize: 10 * 1024 * 1024,
    allowedContentTypes: [],
    prefix: 'uploads/',
    layout: 'date',
    urlExpiresSeconds: 15 * 60,
    orphanTtlSeconds: 24 * 3600,
    multipartTtlSeconds: 7 * 86400,
    maxFilesPerOwner: 0,
  },
  rateLimit: { enabled: true, max: 60, windowSeconds: 60, anonymousMax: 120, readMax: 300, readWindowSeconds: 60 },
  redis: { url: undefined, timeoutMs: 500, keyPrefix: 'filegate:' },
  trustProxy: false,
  downloads: { urlExpiresSeconds: 5 * 60, maxUrlExpiresSeconds: 3600 },
  cleanup: { intervalSeconds: 0, lookbackSeconds: 30 * 86400 },
  jwt: { secret: DEVELOPMENT_JWT_SECRET, secrets: [DEVELOPMENT_JWT_SECRET], publicKey: undefined, jwks: undefined, issuer: undefined, audience: undefined, ownerClaim: 'sub', requireExp: true, maxLifetimeSeconds: 86400, clockToleranceSeconds: 30, cacheSize: 10000 },
  corsOrigins: [],
  demoPage: true,
  docs: { persistAuthorization: false },
  readyCacheMs: 2000,
  events: {
    webhookUrls: [],
    webhookSecrets: [],
    webhookTimeoutMs: 15000,
    retryDelaysMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
    pollIntervalMs: 5000,
    leaseMs: 60_000,
    graceMs: 30_000,
    dedupeWindowSeconds: 7 * 86400,
  },
  metrics: { port: undefined, host: '127.0.0.1' },
  loadShedding: { maxEventLoopDelayMs: 1000, maxEventLoopUtilization: 0, retryAfterSeconds: 10 },
  scanning: {
    enabled: false,
    clamd: { host: '127.0.0.1', port: 3310 },
    timeoutMs: 60_000,
    maxBytes: 25 * 1024 * 1024,
    retryDelaysMs: [2000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000, 7200000, 14400000, 28800000, 43200000, 86400000, 86400000, 86400000],
  },
  variants: { specs: [], maxPixels: 40_000_000 },
}

t.test('loadConfig({}) gives the documented defaults, frozen', (t) => {
  const config = loadConfig({})
  t.same(config, DEFAULTS)
  t.ok(Object.isFrozen(config), 'the config is frozen')
  t.end()
})

t.test('unrelated variables are ignored and empty ones count as unset', (t) => {
  t.same(loadConfig({ PATH: '/usr/bin', HOME: '/root', FOO: 'not a port' }), DEFAULTS)
  t.same(loadConfig({ PORT: '', HOST: '', S3_ENDPOINT: '', JWT_SECRET: '', AWS_ACCESS_KEY_ID: '' }), DEFAULTS)
  t.end()
})

t.test('valid values are parsed into the config', (t) => {
  const config = loadConfig({
    NODE_ENV: 'test', PORT: '8080', HOST: '0.0.0.0', LOG_LEVEL: 'debug', S3_BUCKET: 'my.bucket-1', S3_REGION: 'eu-west-3',
    S3_ENDPOINT: 'http://127.0.0.1:9000/', S3_PUBLIC_ENDPOINT: 'https://s3.example.com', S3_FORCE_PATH_STYLE: 'true',
    UPLOAD_PREFIX: 'tenant/files/', UPLOAD_KEY_LAYOUT: 'owner', JWT_ISSUER: 'https://issuer', JWT_AUDIENCE: 'filegate', JWT_OWNER_CLAIM: 'user_id',
    JWT_SECRET: SECRET,
  })
  t.equal(config.port, 8080)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.logLevel, 'debug')
  t.match(config.s3, { bucket: 'my.bucket-1', region: 'eu-west-3', endpoint: 'http://127.0.0.1:9000', publicEndpoint: 'https://s3.example.com', forcePathStyle: true })
  t.match(config.uploads, { prefix: 'tenant/files/', layout: 'owner' })
  t.match(config.jwt, { issuer: 'https://issuer', audience: 'filegate', ownerClaim: 'user_id' })
  t.end()
})

t.test('several bad variables are all named in one ConfigError', (t) => {
  const env = {
    PORT: 'abc', LOG_LEVEL: 'loud', S3_BUCKET: 'Not_A_Bucket', UPLOAD_PREFIX: 'no-trailing-slash',
    MAX_FILE_SIZE: '10 furlongs', UPLOAD_URL_EXPIRES: '15 minutes', S3_ENDPOINT: 'ftp://x', HOST: 'localhost',
  }
  const err = refusal(env)
  t.ok(err instanceof ConfigError, 'one ConfigError is thrown')
  const message = err?.message ?? ''
  for (const name of ['PORT', 'LOG_LEVEL', 'S3_BUCKET', 'UPLOAD_PREFIX', 'MAX_FILE_SIZE', 'UPLOAD_URL_EXPIRES', 'S3_ENDPOINT']) {
    t.match(message, new RegExp(`^\\s*${name} `, 'm'), `names ${name}`)
  }
  t.notMatch(message, /^\s*HOST /m, 'does not blame a good variable')
  t.end()
})

t.test('several cross-variable problems are all named in one ConfigError', (t) => {
  assertRefused(t, { ORPHAN_TTL: '10m', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', DOWNLOAD_URL_MAX_EXPIRES: '8d' },
    ['ORPHAN_TTL', 'AWS_SECRET_ACCESS_KEY', 'DOWNLOAD_URL_MAX_EXPIRES'], 'three problems')
  t.end()
})

t.test('a malformed variable and a cross-variable problem are named in the same ConfigError', (t) => {
  assertRefused(t, { PORT: 'abc', ORPHAN_TTL: '10m' }, ['PORT', 'ORPHAN_TTL'], 'PORT malformed and ORPHAN_TTL too short')
  t.end()
})

t.test('ORPHAN_TTL must be longer than UPLOAD_URL_EXPIRES', (t) => {
  assertRefused(t, { ORPHAN_TTL: '15m' }, ['ORPHAN_TTL'], 'equal to the default 15m')
  assertRefused(t, { UPLOAD_URL_EXPIRES: '1h', ORPHAN_TTL: '3600' }, ['ORPHAN_TTL'], 'equal in other units')
  assertRefused(t, { UPLOAD_URL_EXPIRES: '2h', ORPHAN_TTL: '1h' }, ['ORPHAN_TTL'], 'shorter')
  t.equal(loadConfig({ UPLOAD_URL_EXPIRES: '1h', ORPHAN_TTL: '3601' }).uploads.orphanTtlSeconds, 3601, 'one second longer is enough')
  t.end()
})

t.test('production needs a JWT key that is not the development secret', (t) => {
  assertRefused(t, { NODE_ENV: 'production' }, ['JWT_SECRET', 'JWT_PUBLIC_KEY'], 'no JWT key')
  assertRefused(t, { NODE_ENV: 'production', JWT_SECRET: DEVELOPMENT_JWT_SECRET }, ['JWT_SECRET'], 'the development secret')

  const withSecret = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET })
  t.equal(withSecret.production, true)
  t.equal(withSecret.jwt.secret, SECRET)

  const withKey = loadConfig({ NODE_ENV: 'production', JWT_PUBLIC_KEY: PUBLIC_KEY })
  t.equal(withKey.jwt.secret, undefined, 'a public key means no secret at all')
  t.equal(withKey.jwt.publicKey, PUBLIC_KEY.replaceAll('\\n', '\n'), '\\n escapes in the PEM become newlines')

  t.equal(loadConfig({ NODE_ENV: 'development', JWT_SECRET: DEVELOPMENT_JWT_SECRET }).jwt.secret, DEVELOPMENT_JWT_SECRET, 'development may use it')
  assertRefused(t, { JWT_SECRET: SECRET, JWT_PUBLIC_KEY: PUBLIC_KEY }, ['JWT_SECRET', 'JWT_PUBLIC_KEY'], 'both a secret and a public key')
  assertRefused(t, { NODE_ENV: 'staging' }, ['NODE_ENV'], 'an unknown NODE_ENV')
  t.end()
})

t.test('token lifetime settings are bounded', (t) => {
  assertRefused(t, { JWT_CLOCK_TOLERANCE: '10m' }, ['JWT_CLOCK_TOLERANCE'], 'a 10-minute tolerance')
  assertRefused(t, { JWT_MAX_TOKEN_LIFETIME: '400d' }, ['JWT_MAX_TOKEN_LIFETIME'], 'a 400-day lifetime')
  assertRefused(t, { JWT_REQUIRE_EXP: 'maybe' }, ['JWT_REQUIRE_EXP'], 'not a boolean')
  t.match(loadConfig({ JWT_REQUIRE_EXP: 'false', JWT_MAX_TOKEN_LIFETIME: '0', JWT_CLOCK_TOLERANCE: '5m' }).jwt, { requireExp: false, maxLifetimeSeconds: 0, clockToleranceSeconds: 300 })
  t.end()
})

t.test('the development secret only with the embedded store; published secrets only when allowed (issue 16, finding 4)', (t) => {
  const endpoint = { S3_ENDPOINT: 'http://127.0.0.1:9000' }
  const keyless = refusal(endpoint)
  t.ok(keyless instanceof ConfigError, 'a real S3_ENDPOINT without a JWT key is refused, in development too')
  t.match(keyless?.message, /JWT_SECRET \(or JWT_PUBLIC_KEY or JWT_JWKS_URL\) must be set when S3_ENDPOINT is/)
  assertRefused(t, { ...endpoint, JWT_SECRET: DEVELOPMENT_JWT_SECRET }, ['JWT_SECRET'], 'the development secret with a real store')
  t.equal(loadConfig({}).jwt.secret, DEVELOPMENT_JWT_SECRET, 'the embedded store (no S3_ENDPOINT, not production) uses the development secret')
  t.equal(loadConfig(endpoint, { requireJwtKey: false }).jwt.secret, undefined, 'a tool that verifies no token (cleanup) needs no key, and gets no development secret')
  for (const published of PUBLIC_JWT_SECRETS.filter((s) => s !== DEVELOPMENT_JWT_SECRET)) {
    const env = { NODE_ENV: 'production', JWT_SECRET: published }
    const refused = refusal(env)
    t.match(refused?.message, /JWT_SECRET is a secret published in this repository.*JWT_ALLOW_PUBLIC_SECRET=true/, `production refuses ${published}`)
    t.equal(loadConfig({ ...env, JWT_ALLOW_PUBLIC_SECRET: 'true' }).jwt.secret, published, 'unless JWT_ALLOW_PUBLIC_SECRET=true')
    t.equal(loadConfig({ ...endpoint, JWT_SECRET: published }).jwt.secret, published, 'outside production it is allowed')
  }
  assertRefused(t, { NODE_ENV: 'production', JWT_SECRET: DEVELOPMENT_JWT_SECRET, JWT_ALLOW_PUBLIC_SECRET: 'true' }, ['JWT_SECRET'], 'never the development secret in production')
  t.end()
})

t.test('JWT_SECRET must have at least 32 characters', (t) => {
  assertRefused(t, { JWT_SECRET: 'x'.repeat(31) }, ['JWT_SECRET'], '31 characters')
  assertRefused(t, { JWT_SECRET: 'short' }, ['JWT_SECRET'], '5 characters')
  t.equal(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).jwt.secret, 'x'.repeat(32), '32 characters are enough')
  t.end()
})

t.test('durations accept seconds and ms, s, m, h, d suffixes', (t) => {
  const cases: Array<[string, number]> = [['90', 90], ['90s', 90], ['15m', 900], ['24h', 86400], ['7d', 604800], ['1500ms', 2], ['1', 1]]
  for (const [text, seconds] of cases) {
    t.equal(parseDurationSeconds(text), seconds, `parseDurationSeconds(${text})`)
    t.equal(loadConfig({ UPLOAD_URL_EXPIRES: text, ORPHAN_TTL: '30d', MULTIPART_TTL: '30d' }).uploads.urlExpiresSeconds, seconds, `UPLOAD_URL_EXPIRES=${text}`)
  }
  t.equal(loadConfig({ ORPHAN_TTL: '7d' }).uploads.orphanTtlSeconds, 604800)
  t.same(loadConfig({ DOWNLOAD_URL_EXPIRES: '90', DOWNLOAD_URL_MAX_EXPIRES: '24h' }).downloads, { urlExpiresSeconds: 90, maxUrlExpiresSeconds: 86400 })

  for (const text of ['15 m', '1w', '-5', '1.5h', 'h', '', '15M']) {
    t.throws(() => parseDurationSeconds(text), ConfigError, `parseDurationSeconds refuses ${JSON.stringify(text)}`)
  }
  for (const text of ['15 m', '1w', '-5', '1.5h', 'soon']) assertRefused(t, { UPLOAD_URL_EXPIRES: text }, ['UPLOAD_URL_EXPIRES'], `UPLOAD_URL_EXPIRES=${text}`)
  assertRefused(t, { UPLOAD_URL_EXPIRES: '8d', ORPHAN_TTL: '30d' }, ['UPLOAD_URL_EXPIRES'], 'an upload grant over 7 days')
  assertRefused(t, { UPLOAD_URL_EXPIRES: '0' }, ['UPLOAD_URL_EXPIRES'], 'a zero upload grant')
  assertRefused(t, { DOWNLOAD_URL_MAX_EXPIRES: '8d' }, ['DOWNLOAD_URL_MAX_EXPIRES'], 'downloads over the SigV4 limit')
  assertRefused(t, { DOWNLOAD_URL_EXPIRES: '2h' }, ['DOWNLOAD_URL_EXPIRES'], 'a default download lifetime over the maximum')
  assertRefused(t, { MULTIPART_TTL: '15m' }, ['MULTIPART_TTL'], 'unfinished multipart uploads aborted while their part URLs are still valid')
  assertRefused(t, { MULTIPART_TTL: 'a week' }, ['MULTIPART_TTL'], 'a multipart TTL that is not a duration')
  t.equal(loadConfig({ MULTIPART_TTL: '2d' }).uploads.multipartTtlSeconds, 172800, 'MULTIPART_TTL in seconds')
  t.end()
})

t.test('MAX_FILE_SIZE accepts bytes and decimal or binary units', (t) => {
  const cases: Array<[string, number]> = [
    ['10MiB', 10485760], ['1', 1], ['500B', 500], ['1KB', 1000], ['2KiB', 2048], ['3MB', 3e6], ['1GB', 1e9], ['5GiB', 5 * 1024 ** 3],
    ['6GiB', 6 * 1024 ** 3], ['2TB', 2e12], ['5TiB', 5 * 1024 ** 4],
  ]
  for (const [text, bytes] of cases) t.equal(loadConfig({ MAX_FILE_SIZE: text }).uploads.maxFileSize, bytes, `${text} = ${bytes}`)
  for (const text of ['0', '6TiB', '5497558138881', '10mb', '10 MiB', '1.5MB', '-1', 'big']) assertRefused(t, { MAX_FILE_SIZE: text }, ['MAX_FILE_SIZE'], `MAX_FILE_SIZE=${text}`)
  t.end()
})

t.test('ALLOWED_CONTENT_TYPES is a comma list; empty means any type', (t) => {
  t.same(loadConfig({ ALLOWED_CONTENT_TYPES: 'image/*, application/pdf' }).uploads.allowedContentTypes, ['image/*', 'application/pdf'])
  t.same(loadConfig({ ALLOWED_CONTENT_TYPES: ' image/png ,text/plain,video/* ' }).uploads.allowedContentTypes, ['image/png', 'text/plain', 'video/*'])
  t.same(loadConfig({ ALLOWED_CONTENT_TYPES: 'application/pdf' }).uploads.allowedContentTypes, ['application/pdf'])
  t.same(loadConfig({ ALLOWED_CONTENT_TYPES: '' }).uploads.allowedContentTypes, [], 'an empty string allows any type')
  t.same(loadConfig({}).uploads.allowedContentTypes, [], 'unset allows any type')
  for (const text of ['image', 'image/png;', '*/*', 'image/png,,text/plain', 'image/png text/plain', 'image/*/*']) {
    assertRefused(t, { ALLOWED_CONTENT_TYPES: text }, ['ALLOWED_CONTENT_TYPES'], `ALLOWED_CONTENT_TYPES=${JSON.stringify(text)}`)
  }
  t.end()
})

t.test('AWS credentials come as a pair', (t) => {
  assertRefused(t, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], 'a key id without its secret')
  assertRefused(t, { AWS_SECRET_ACCESS_KEY: 'secret' }, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], 'a secret without its key id')
  t.same(loadConfig({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }).s3.credentials, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' })
  t.same(loadConfig({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'tok' }).s3.credentials,
    { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'tok' })
  t.end()
})

t.test('other malformed variables are refused by name', (t) => {
  const cases: Array<[string, string]> = [
    ['PORT', '65536'], ['PORT', '-1'], ['PORT', 'http'], ['LOG_LEVEL', 'INFO'], ['S3_BUCKET', 'ab'],
    ['S3_ENDPOINT', 'http://host/path'], ['S3_PUBLIC_ENDPOINT', 'host:9000'], ['S3_FORCE_PATH_STYLE', 'maybe'],
    ['S3_TIMEOUT_MS', '50'], ['S3_CLIENT', 'aws'], ['JWT_CACHE_SIZE', '-1'], ['UPLOAD_PREFIX', '_filegate/'], ['UPLOAD_PREFIX', '/uploads/'], ['UPLOAD_PREFIX', 'a//b/'],
    ['UPLOAD_KEY_LAYOUT', 'flat'], ['JWT_PUBLIC_KEY', 'not a pem'], ['JWT_OWNER_CLAIM', 'has space'],
  ]
  for (const [name, value] of cases) assertRefused(t, { [name]: value }, [name], `${name}=${value}`)
  t.end()
})

t.test('integer variables refuse values that are not integers instead of converting them', (t) => {
  const cases: Array<[string, string]> = [
    ['PORT', '80.5'], ['PORT', 'true'], ['PORT', 'false'], ['S3_TIMEOUT_MS', '5000.7'], ['EMBEDDED_S3_PORT', '4568.5'],
  ]
  for (const [name, value] of cases) assertRefused(t, { [name]: value }, [name], `${name}=${value}`)
  t.end()
})

t.test('UPLOAD_PREFIX refuses . and .. segments, which issued keys may not contain', (t) => {
  for (const prefix of ['../', './', 'a/../b/', 'uploads/./']) assertRefused(t, { UPLOAD_PREFIX: prefix }, ['UPLOAD_PREFIX'], `UPLOAD_PREFIX=${prefix}`)
  t.end()
})

t.test('abuse limits: RATE_LIMIT_* and MAX_FILES_PER_OWNER parse and refuse bad values by name', (t) => {
  t.same(loadConfig({ RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW: '30s', RATE_LIMIT_ANONYMOUS_MAX: '7', READ_RATE_LIMIT_MAX: '9', READ_RATE_LIMIT_WINDOW: '2m' }).rateLimit, { enabled: false, max: 5, windowSeconds: 30, anonymousMax: 7, readMax: 9, readWindowSeconds: 120 })
  t.equal(loadConfig({ MAX_FILES_PER_OWNER: '1000' }).uploads.maxFilesPerOwner, 1000)
  const cases: Array<[string, string]> = [
    ['RATE_LIMIT_MAX', '0'], ['RATE_LIMIT_MAX', '2.5'], ['RATE_LIMIT_MAX', 'lots'], ['RATE_LIMIT_WINDOW', '0'], ['RATE_LIMIT_WINDOW', '2d'],
    ['RATE_LIMIT_WINDOW', 'soon'], ['RATE_LIMIT_ENABLED', 'maybe'], ['MAX_FILES_PER_OWNER', '-1'], ['MAX_FILES_PER_OWNER', '1.5'],
    ['RATE_LIMIT_ANONYMOUS_MAX', '0'], ['RATE_LIMIT_ANONYMOUS_MAX', 'many'],
    ['READ_RATE_LIMIT_MAX', '0'], ['READ_RATE_LIMIT_MAX', 'lots'], ['READ_RATE_LIMIT_WINDOW', '0'], ['READ_RATE_LIMIT_WINDOW', '2d'],
  ]
  for (const [name, value] of cases) assertRefused(t, { [name]: value }, [name], `${name}=${value}`)
  t.end()
})

t.test('several instances: REDIS_* and TRUST_PROXY parse, and bad values are refused by name (a Redis URL is never echoed)', (t) => {
  t.same(loadConfig({}).redis, { url: undefined, timeoutMs: 500, keyPrefix: 'filegate:' })
  t.same(loadConfig({ REDIS_URL: 'redis://:pw@10.0.0.5:6380/2', REDIS_TIMEOUT_MS: '200', REDIS_KEY_PREFIX: 'fg-eu:' }).redis,
    { url: 'redis://:pw@10.0.0.5:6380/2', timeoutMs: 200, keyPrefix: 'fg-eu:' })
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1'])
  const cases: Array<[string, string]> = [
    ['REDIS_URL', 'http://cache:6379'], ['REDIS_URL', 'redis://a b'], ['REDIS_TIMEOUT_MS', '5'], ['REDIS_TIMEOUT_MS', 'fast'],
    ['REDIS_KEY_PREFIX', 'with space'], ['TRUST_PROXY', 'yes'], ['TRUST_PROXY', '10.0.0.0/33'], ['TRUST_PROXY', '999.1.1.1'],
    ['TRUST_PROXY', 'proxy.internal'],
  ]
  for (const [name, value] of cases) assertRefused(t, { [name]: value }, [name], `${name}=${value}`)
  const error = refusal({ REDIS_URL: 'redis://:hunter2-secret@cache 6379' })
  t.match(error?.message, /REDIS_URL/)
  t.notMatch(error?.message, 'hunter2', 'the message does not show the URL (with its password)')
  t.end()
})

t.test('CLEANUP_INTERVAL (off by default, at most 7 d) and CLEANUP_LOOKBACK parse and refuse bad values by name', (t) => {
  t.same(loadConfig({ CLEANUP_INTERVAL: '1h', CLEANUP_LOOKBACK: '7d' }).cleanup, { intervalSeconds: 3600, lookbackSeconds: 7 * 86400 })
  t.equal(loadConfig({ CLEANUP_INTERVAL: '0' }).cleanup.intervalSeconds, 0, '0 turns the sweep off')
  const cases: Array<[string, string]> = [['CLEANUP_INTERVAL', '8d'], ['CLEANUP_INTERVAL', 'hourly'], ['CLEANUP_LOOKBACK', '0'], ['CLEANUP_LOOKBACK', '-1d']]
  for (const [name, value] of cases) assertRefused(t, { [name]: value }, [name], `${name}=${value}`)
  t.end()
})

t.test('events: webhook URLs and secrets are parsed; bad ones are refused by name', (t) => {
  const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`
  const config = loadConfig({
    WEBHOOK_URLS: 'http://127.0.0.1:9000/hook, https://example.com/b', WEBHOOK_SECRET: ` ${secret}  ${secret}x `.replace('x', ''),
    WEBHOOK_RETRY_SCHEDULE: '100ms, 2s,1m', EVENTS_POLL_INTERVAL: '250ms', EVENTS_GRACE: '20s',
  })
  t.same(config.events.webhookUrls, ['http://127.0.0.1:9000/hook', 'https://example.com/b'])
  t.same(config.events.webhookSecrets, [secret, secret])
  t.same(config.events.retryDelaysMs, [100, 2000, 60_000])
  t.equal(config.events.pollIntervalMs, 250)
  assertRefused(t, { WEBHOOK_URLS: 'http://127.0.0.1:9000/hook' }, ['WEBHOOK_SECRET'], 'URLs without a secret')
  assertRefused(t, { WEBHOOK_URLS: 'ftp://example.com', WEBHOOK_SECRET: secret }, ['WEBHOOK_URLS'], 'not an http URL')
  assertRefused(t, { WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }, ['WEBHOOK_SECRET'], 'a short secret')
  assertRefused(t, { WEBHOOK_SECRET: 'not-a-whsec' }, ['WEBHOOK_SECRET'], 'not a whsec_ secret')
  const shown = refusal({ WEBHOOK_SECRET: 'not-a-whsec-secret-value' })?.message ?? ''
  t.notMatch(shown, /not-a-whsec-secret-value/, 'the bad secret is not repeated in the message')
  assertRefused(t, { WEBHOOK_RETRY_SCHEDULE: '5s,soon' }, ['WEBHOOK_RETRY_SCHEDULE'], 'a schedule that is not durations')
  assertRefused(t, { EVENTS_LEASE: '20s' }, ['EVENTS_LEASE'], 'a lease shorter than two timeouts')
  assertRefused(t, { EVENTS_GRACE: '5s' }, ['EVENTS_GRACE'], 'a grace shorter than two S3 timeouts')
  assertRefused(t, { EVENTS_POLL_INTERVAL: '10ms' }, ['EVENTS_POLL_INTERVAL'], 'a poll interval under 100 ms')
  t.end()
})

t.test('METRICS_PORT turns metrics on, on HOST unless METRICS_HOST says otherwise', (t) => {
  t.same(loadConfig({ METRICS_PORT: '9464' }).metrics, { port: 9464, host: '127.0.0.1' })
  t.same(loadConfig({ METRICS_PORT: '9464', HOST: '0.0.0.0' }).metrics, { port: 9464, host: '0.0.0.0' })
  t.same(loadConfig({ METRICS_PORT: '9464', HOST: '0.0.0.0', METRICS_HOST: '10.0.0.5' }).metrics, { port: 9464, host: '10.0.0.5' })
  assertRefused(t, { METRICS_PORT: '70000' }, ['METRICS_PORT'], 'a port out of range')
  assertRefused(t, { METRICS_PORT: 'on' }, ['METRICS_PORT'], 'not a number')
  t.end()
})

t.test('LOAD_SHED_* parse, 0 turns a check off, and bad values are refused by name', (t) => {
  t.same(loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY: '250ms', LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0.95', LOAD_SHED_RETRY_AFTER: '30s' }).loadShedding,
    { maxEventLoopDelayMs: 250, maxEventLoopUtilization: 0.95, retryAfterSeconds: 30 })
  t.equal(loadConfig({ LOAD_SHED_MAX_EVENT_LOOP_DELAY: '0' }).loadShedding.maxEventLoopDelayMs, 0)
  assertRefused(t, { LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '1.5' }, ['LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION'], 'a share over 1')
  assertRefused(t, { LOAD_SHED_MAX_EVENT_LOOP_DELAY: 'soon' }, ['LOAD_SHED_MAX_EVENT_LOOP_DELAY'], 'not a duration')
  assertRefused(t, { LOAD_SHED_RETRY_AFTER: '2h' }, ['LOAD_SHED_RETRY_AFTER'], 'a Retry-After over 1 h')
  t.end()
})
