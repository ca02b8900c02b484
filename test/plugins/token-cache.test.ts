// The verified-token cache: tokens are verified once and then served from a bounded cache, never past their exp.
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { buildTestApp, TEST_JWT_SECRET } from '../helper.js'

const sign = (sub: string, expiresInMs = 3600_000) => createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', expiresIn: expiresInMs })({ sub })
const grant = { filename: 'a.txt' }

t.test('a cached token is refused once its exp passes', async (t) => {
  // No clock tolerance, so that exp itself is the limit (with JWT_CLOCK_TOLERANCE, exp plus it, cached or not).
  const { app } = await buildTestApp(t, { JWT_CACHE_SIZE: '100', JWT_CLOCK_TOLERANCE: '0' })
  const token = sign('alice', 2000)
  const exp = (app.jwt.decode<{ exp: number }>(token)?.exp ?? 0) * 1000

  const first = app.jwt.verify(token)
  t.equal(app.jwt.verify(token), first, 'the second verification is served from the cache (the same payload object)')
  for (let i = 0; i < 5; i++) {
    t.equal((await app.inject({ method: 'POST', url: '/files/upload-url', headers: { authorization: `Bearer ${token}` }, payload: grant })).statusCode, 200, `request ${i + 1} before exp: 200`)
  }
  t.ok(Date.now() < exp, 'all of them before exp')

  // Wait for exp, bounded: the token was made to expire in 2 s.
  const deadline = Date.now() + 10_000
  while (Date.now() <= exp + 50 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const late = await app.inject({ method: 'POST', url: '/files/upload-url', headers: { authorization: `Bearer ${token}` }, payload: grant })
  t.equal(late.statusCode, 401, 'after exp the cached token is refused')
  t.equal(late.json().message, 'The token has expired')
  t.throws(() => app.jwt.verify(token), { code: 'FAST_JWT_EXPIRED' }, 'and the verifier says why')

  const fresh = sign('alice')
  t.equal((await app.inject({ method: 'POST', url: '/files/upload-url', headers: { authorization: `Bearer ${fresh}` }, payload: grant })).statusCode, 200, 'a new token works')
})

t.test('the cache is bounded, keyed by the whole token, and off with JWT_CACHE_SIZE=0', async (t) => {
  const { app } = await buildTestApp(t, { JWT_CACHE_SIZE: '2' })
  const [a, b, c] = ['a', 'b', 'c'].map((sub) => sign(sub))
  if (a === undefined || b === undefined || c === undefined) throw new Error('no tokens')
  const payloadOfA = app.jwt.verify(a)
  t.equal(app.jwt.verify(a), payloadOfA, 'a hit')
  app.jwt.verify(b)
  app.jwt.verify(c)
  t.not(app.jwt.verify(a), payloadOfA, 'two other tokens later, the first was evicted (size 2) and verified afresh')

  // A token that differs in its signature alone is another key, and is refused.
  const forged = `${a.slice(0, a.lastIndexOf('.') + 1)}${'A'.repeat(43)}`
  t.throws(() => app.jwt.verify(forged), { code: 'FAST_JWT_INVALID_SIGNATURE' }, 'a token with a wrong signature is not served from the cache')
  t.equal((await app.inject({ method: 'POST', url: '/files/upload-url', headers: { authorization: `Bearer ${forged}` }, payload: grant })).statusCode, 401)

  const { app: uncached } = await buildTestApp(t, { JWT_CACHE_SIZE: '0' })
  t.not(uncached.jwt.verify(a), uncached.jwt.verify(a), 'JWT_CACHE_SIZE=0: every verification is done afresh')
})
