// Token lifetimes (issue 16, finding 5): exp required by default, a maximum lifetime, a small clock tolerance, no future iat.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../helper.js'

const now = () => Math.floor(Date.now() / 1000)
const HOUR = 3600
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
/** Signs exactly the claims given (HS256): no iat or exp unless passed, whatever their type. */
function sign (claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`
  return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`
}

async function answer (test: TestApp, claims: Record<string, unknown>): Promise<{ status: number, message: string }> {
  const res = await test.app.inject({ method: 'GET', url: '/files?limit=1', headers: { authorization: `Bearer ${sign({ sub: 'alice', ...claims })}` } })
  const body = res.json<{ message?: string, code?: string }>()
  if (res.statusCode === 401 && body.code !== 'UNAUTHORIZED') throw new Error(`401 with code ${String(body.code)}`)
  return { status: res.statusCode, message: body.message ?? '' }
}

t.test('by default: exp required, at most 24 h of validity, 30 s of clock tolerance, no iat in the future', async (t) => {
  const test = await buildTestApp(t)
  const cases: Array<[string, Record<string, unknown>, number, RegExp?]> = [
    ['no exp, no iat', {}, 401, /no exp claim/],
    ['no exp, iat now', { iat: now() }, 401, /no exp claim/],
    ['exp in 1 h, iat now', { iat: now(), exp: now() + HOUR }, 200],
    ['exp in 1 h, no iat', { exp: now() + HOUR }, 200],
    ['exp exactly 24 h after iat', { iat: now(), exp: now() + 24 * HOUR }, 200],
    ['exp 100 years ahead', { iat: now(), exp: now() + 100 * 365 * 24 * HOUR }, 401, /valid for \d+ s, longer than the 86400 s/],
    ['exp 25 h ahead, no iat', { exp: now() + 25 * HOUR }, 401, /JWT_MAX_TOKEN_LIFETIME/],
    ['exp 24 h + 1 min after an iat 1 h ago', { iat: now() - HOUR, exp: now() + 23 * HOUR + 60 }, 401, /JWT_MAX_TOKEN_LIFETIME/],
    ['iat 10 s in the future (within the tolerance)', { iat: now() + 10, exp: now() + HOUR }, 200],
    ['iat 10 min in the future', { iat: now() + 600, exp: now() + HOUR }, 401, /issued in the future/],
    ['expired 10 s ago (within the tolerance)', { iat: now() - HOUR, exp: now() - 10 }, 200],
    ['expired 2 min ago', { iat: now() - HOUR, exp: now() - 120 }, 401, /expired/],
    ['nbf 10 s ahead (within the tolerance)', { exp: now() + HOUR, nbf: now() + 10 }, 200],
    ['nbf 2 min ahead', { exp: now() + HOUR, nbf: now() + 120 }, 401, /not valid yet/],
    ['a string iat', { iat: String(now()), exp: now() + HOUR }, 401, /not a number/],
  ]
  for (const [name, claims, status, message] of cases) {
    const got = await answer(test, claims)
    t.equal(got.status, status, `${name}: ${status}${got.status === 401 ? ` (${got.message})` : ''}`)
    if (message !== undefined) t.match(got.message, message, `${name}: the message says why`)
  }
})

t.test('JWT_REQUIRE_EXP=false: a token without exp expires JWT_MAX_TOKEN_LIFETIME after its iat', async (t) => {
  const test = await buildTestApp(t, { JWT_REQUIRE_EXP: 'false', JWT_MAX_TOKEN_LIFETIME: '1h' })
  t.equal((await answer(test, { iat: now() })).status, 200, 'no exp, iat now: 200')
  t.equal((await answer(test, {})).status, 200, 'no exp and no iat: accepted, as configured')
  const old = await answer(test, { iat: now() - 2 * HOUR })
  t.equal(old.status, 401, 'no exp, iat 2 h ago: 401')
  t.match(old.message, /no exp claim and was issued longer ago/)
  t.equal((await answer(test, { iat: now(), exp: now() + 2 * HOUR })).status, 401, 'exp 2 h after iat, over the 1 h limit: 401')
})

t.test('JWT_MAX_TOKEN_LIFETIME=0 lifts the limit; JWT_CLOCK_TOLERANCE=0 allows no skew', async (t) => {
  const test = await buildTestApp(t, { JWT_MAX_TOKEN_LIFETIME: '0', JWT_CLOCK_TOLERANCE: '0' })
  t.equal((await answer(test, { iat: now(), exp: now() + 365 * 24 * HOUR })).status, 200, 'a year-long token: 200')
  t.equal((await answer(test, { exp: now() - 5 })).status, 401, 'expired 5 s ago: 401')
  t.equal((await answer(test, { iat: now() + 5, exp: now() + HOUR })).status, 401, 'iat 5 s ahead: 401')
  t.equal((await answer(test, {})).status, 401, 'still no token without exp')
})
