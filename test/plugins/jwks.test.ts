// JWT_JWKS_URL (issue 14, must-show 5): keys from a real loopback JWKS endpoint, RS256 and ES256; a rotation is picked up
// without a restart, unknown kids are refused without a refetch storm, a removed key's cached tokens stop verifying;
// issuer and audience are checked. And JWT_SECRET holding two secrets during a rotation.
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createSigner } from 'fast-jwt'
import t, { type Test } from 'tap'
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helper.js'
import { loadConfig } from '../../src/config.js'
import { metricsBase, scrape, sumOf } from '../support/prometheus.js'

const ISSUER = 'https://id.example.test/'
const AUDIENCE = 'filegate-test'

interface TestKey { readonly kid: string, readonly algorithm: 'RS256' | 'ES256', readonly privateKey: KeyObject, readonly jwk: Record<string, unknown> }

function makeKey (algorithm: 'RS256' | 'ES256'): TestKey {
  const { publicKey, privateKey } = algorithm === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const kid = `${algorithm.toLowerCase()}-${randomUUID()}`
  return { kid, algorithm, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: algorithm } }
}

function sign (key: TestKey, claims: Record<string, unknown> = {}, options: { kid?: string | null } = {}): string {
  const kid = options.kid === null ? undefined : options.kid ?? key.kid
  const signer = createSigner({ key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: key.algorithm, expiresIn: 600_000, ...(kid !== undefined && { kid }) })
  return signer({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, ...claims })
}

/** A JWKS endpoint on loopback whose key set the test changes, counting the fetches; `unreachable(true)` drops each connection unanswered. */
async function startJwksServer (t: Test, keys: TestKey[]): Promise<{ url: string, fetches: () => number, publish: (keys: TestKey[]) => void, unreachable: (on: boolean) => void }> {
  let published = keys
  let fetches = 0
  let dropping = false
  const server = createServer((request, response) => {
    fetches++
    if (dropping) {
      request.socket.destroy()
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { url: `http://127.0.0.1:${address.port}/.well-known/jwks.json`, fetches: () => fetches, publish: (next) => { published = next }, unreachable: (on) => { dropping = on } }
}

const jwksEnv = (url: string, extra: Record<string, string> = {}) => ({ JWT_SECRET: '', JWT_JWKS_URL: url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_JWKS_MIN_REFETCH_INTERVAL: '1s', ...extra })
const list = async (test: TestApp, token: string) => await test.app.inject({ method: 'GET', url: '/files', headers: { authorization: `Bearer ${token}` } })

t.test('tokens signed by a published RS256 or ES256 key are accepted; issuer and audience are checked', async (t) => {
  const rsa = makeKey('RS256')
  const ec = makeKey('ES256')
  const jwks = await startJwksServer(t, [rsa, ec])
  const test = await buildTestApp(t, jwksEnv(jwks.url))
  t.equal(jwks.fetches(), 1, 'the key set is fetched once at start-up')

  t.equal((await list(test, sign(rsa))).statusCode, 200, 'RS256 by a published key: 200')
  t.equal((await list(test, sign(ec))).statusCode, 200, 'ES256 by a published key: 200')
  for (const [label, token] of [
    ['another issuer', sign(rsa, { iss: 'https://evil.example.test/' })],
    ['another audience', sign(ec, { aud: 'another-service' })],
    ['no audience', sign(rsa, { aud: undefined })],
  ] as const) {
    const res = await list(test, token)
    t.match([res.statusCode, res.json()], [401, { code: 'UNAUTHORIZED' }], `${label}: 401 UNAUTHORIZED`)
  }
  const noKid = await list(test, sign(rsa, {}, { kid: null }))
  t.match([noKid.statusCode, noKid.json()], [401, { code: 'UNKNOWN_SIGNING_KEY', message: /kid/ }], 'a token naming no kid: 401 UNKNOWN_SIGNING_KEY')
  // Algorithm confusion: an HS256 token "signed" with the RSA key's public JWK text, naming the RSA key's kid.
  const confused = createSigner({ key: JSON.stringify(rsa.jwk), algorithm: 'HS256', kid: rsa.kid, expiresIn: 600_000 })({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE })
  t.equal((await list(test, confused)).statusCode, 401, 'an HS256 token naming an RSA key: 401')
  const otherKey = makeKey('ES256')
  t.equal((await list(test, sign(otherKey, {}, { kid: ec.kid }))).statusCode, 401, 'a published kid with another key\'s signature: 401')
  t.equal(jwks.fetches(), 1, 'none of these fetched the key set again')
})

t.test('50 tokens with random unknown kids are refused without a refetch storm', async (t) => {
  const rsa = makeKey('RS256')
  const jwks = await startJwksServer(t, [rsa])
  const test = await buildTestApp(t, jwksEnv(jwks.url))
  const before = jwks.fetches()
  const forged = makeKey('RS256')
  const answers = await Promise.all(Array.from({ length: 50 }, async () => await list(test, sign(forged, {}, { kid: randomUUID() }))))
  t.same(new Set(answers.map((a) => a.statusCode)), new Set([401]), 'all 50: 401')
  t.same(new Set(answers.map((a) => a.json<{ code: string }>().code)), new Set(['UNKNOWN_SIGNING_KEY']), 'with code UNKNOWN_SIGNING_KEY')
  t.match(answers[0]?.json(), { message: /not published at JWT_JWKS_URL/ })
  const storm = jwks.fetches() - before
  t.ok(storm <= 2, `50 unknown kids made ${storm} fetches of the key set (at most 2)`)
  const more: number[] = []
  for (let i = 0; i < 50; i++) more.push((await list(test, sign(forged, {}, { kid: randomUUID() }))).statusCode)
  t.same(new Set(more), new Set([401]))
  t.ok(jwks.fetches() - before <= 2 + Math.ceil(50 / 10), `50 more one after another: ${jwks.fetches() - before} fetches in all, at most one per JWT_JWKS_MIN_REFETCH_INTERVAL`)
  t.equal((await list(test, sign(rsa))).statusCode, 200, 'the published key still verifies')
})

t.test('the endpoint rotates to a new key: new-kid tokens are accepted without a restart, the removed key\'s tokens are refused', async (t) => {
  const old = makeKey('RS256')
  const jwks = await startJwksServer(t, [old])
  const test = await buildTestApp(t, jwksEnv(jwks.url))
  const oldToken = sign(old)
  t.equal((await list(test, oldToken)).statusCode, 200, 'the old key verifies (and the token is now in the verified-token cache)')
  t.equal((await list(test, oldToken)).statusCode, 200)

  const next = makeKey('ES256')
  jwks.publish([next])
  const newToken = sign(next)
  // The first new-kid token may fall inside JWT_JWKS_MIN_REFETCH_INTERVAL (1 s) of the start-up fetch: poll.
  const deadline = performance.now() + 10_000
  let status = 0
  let tries = 0
  while (status !== 200 && performance.now() < deadline) {
    status = (await list(test, newToken)).statusCode
    tries++
  }
  t.equal(status, 200, `the new kid is accepted without a restart (after ${tries} tries)`)
  t.ok(jwks.fetches() <= 3, `fetches: ${jwks.fetches()}`)
  const refused = await list(test, oldToken)
  t.match([refused.statusCode, refused.json()], [401, { code: 'UNKNOWN_SIGNING_KEY' }], 'a token of the removed key, verified and cached before, is refused now')
})

t.test('the key set is required to come with JWT_ISSUER and JWT_AUDIENCE, and exclusive with JWT_SECRET', async (t) => {
  const base = { NODE_ENV: 'test', S3_ENDPOINT: 'http://127.0.0.1:9', JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' }
  t.throws(() => loadConfig(base), /JWT_ISSUER and JWT_AUDIENCE must be set with JWT_JWKS_URL/)
  t.throws(() => loadConfig({ ...base, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_SECRET: TEST_JWT_SECRET }), /exclusive/)
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'production', JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }), /JWT_JWKS_URL must be an https URL in production/)
  t.match(loadConfig({ ...base, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }).jwt, { jwks: { url: base.JWT_JWKS_URL, refreshMs: 600_000, minRefetchIntervalMs: 30_000 }, secret: undefined, secrets: [] })
})

t.test('JWT_SECRET with two secrets (new,old): tokens signed by either verify; npm run token signs with the first', async (t) => {
  const newSecret = 'the-new-secret-of-a-rotation-0123456789abc'
  const test = await buildTestApp(t, { JWT_SECRET: `${newSecret},${TEST_JWT_SECRET}` })
  const signWith = (key: string) => createSigner({ key, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'alice' })
  t.equal((await list(test, signWith(newSecret))).statusCode, 200, 'a token signed with the new secret: 200')
  t.equal((await list(test, signWith(TEST_JWT_SECRET))).statusCode, 200, 'a token signed with the old one: 200')
  const other = await list(test, signWith('a-third-secret-nobody-configured-0123456789'))
  t.match([other.statusCode, other.json()], [401, { code: 'UNAUTHORIZED' }], 'any other secret: 401')
  const expiredOld = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', expiresIn: 1 })({ sub: 'alice', iat: Math.floor(Date.now() / 1000) - 3600 })
  t.match((await list(test, expiredOld)).json(), { code: 'UNAUTHORIZED', message: 'The token has expired' }, 'an expired token of the old secret says why')

  const root = fileURLToPath(new URL('../..', import.meta.url))
  const out = spawnSync('npm', ['run', '--silent', 'token', '--', 'carol'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, JWT_SECRET: `${newSecret},${TEST_JWT_SECRET}` } })
  t.equal(out.status, 0, out.stderr)
  const printed = out.stdout.trim()
  const onlyNew = await buildTestApp(t, { JWT_SECRET: newSecret })
  t.equal((await list(onlyNew, printed)).statusCode, 200, 'the printed token verifies with the new secret alone')
  t.throws(() => loadConfig({ NODE_ENV: 'test', S3_ENDPOINT: 'http://127.0.0.1:9', JWT_SECRET: `${newSecret},short` }), /JWT_SECRET must be/, 'each secret needs 32 characters')
})

t.test('the key set unreachable: a token naming a new kid gets 503 KEY_SET_UNAVAILABLE (retry, not sign in again), loaded keys still verify, and the kid verifies once the set answers', async (t) => {
  const old = makeKey('RS256')
  const jwks = await startJwksServer(t, [old])
  const test = await buildTestApp(t, jwksEnv(jwks.url, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' }))
  const metrics = metricsBase(test.app)
  const fetched = async (outcome: string) => sumOf(await scrape(metrics), 'filegate_jwks_fetches_total', { outcome })
  t.same([await fetched('ok'), await fetched('failed'), sumOf(await scrape(metrics), 'filegate_jwks_keys')], [1, 0, 1], 'metrics: the start-up fetch, and one key loaded')
  const next = makeKey('ES256')
  jwks.publish([old, next])
  jwks.unreachable(true)
  // The first refetch may fall inside JWT_JWKS_MIN_REFETCH_INTERVAL (1 s) of the start-up fetch (then the set is not
  // known to be down yet, and the kid is unknown): poll until a fetch has failed.
  const deadline = performance.now() + 10_000
  let res = await list(test, sign(next))
  while (res.statusCode !== 503 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    res = await list(test, sign(next))
  }
  t.same(res.json(), { statusCode: 503, code: 'KEY_SET_UNAVAILABLE', error: 'Service Unavailable', message: 'The token names a signing key filegate has not loaded, and the key set (JWT_JWKS_URL) cannot be fetched right now; try again later' },
    'a kid filegate has not loaded, with the key set down: 503 KEY_SET_UNAVAILABLE')
  t.equal((await list(test, sign(old))).statusCode, 200, 'a token of a key loaded before still verifies')
  t.ok(await fetched('failed') >= 1, `metrics: the failed fetches are counted (${await fetched('failed')})`)
  jwks.unreachable(false)
  const back = performance.now() + 10_000
  let status = 0
  while (status !== 200 && performance.now() < back) {
    status = (await list(test, sign(next))).statusCode
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.equal(status, 200, 'the set answers again: the new kid verifies')
  t.equal(sumOf(await scrape(metrics), 'filegate_jwks_keys'), 2, 'metrics: both keys loaded now')
  t.equal(await fetched('ok'), 2, 'metrics: the start-up fetch and the one that found the new kid')
  const forged = await list(test, sign(makeKey('RS256'), {}, { kid: randomUUID() }))
  t.match([forged.statusCode, forged.json()], [401, { code: 'UNKNOWN_SIGNING_KEY' }], 'and a kid the answering set does not publish is 401 again')
})
