// `npm run token`: its token is accepted by the service, and it refuses to run in production.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildTestApp, TEST_JWT_SECRET } from '../helper.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const run = (args: string[], env: Record<string, string>) =>
  spawnSync('npm', ['run', '--silent', 'token', '--', ...args], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } })

t.test('a printed token is accepted by the running service', async (t) => {
  const { app } = await buildTestApp(t)
  const out = run(['carol', '--expires', '10m'], { JWT_SECRET: TEST_JWT_SECRET })
  t.equal(out.status, 0, out.stderr)
  const token = out.stdout.trim()
  t.match(token, /^ey[\w-]+\.[\w-]+\.[\w-]+$/)
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string, exp: number, iat: number }
  t.equal(claims.sub, 'carol')
  t.equal(claims.exp - claims.iat, 600, '--expires sets the lifetime')
  const res = await app.inject({ method: 'GET', url: '/files', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200)
  const wrong = run(['carol'], { JWT_SECRET: 'some-other-secret-of-at-least-32-characters' }).stdout.trim()
  t.equal((await app.inject({ method: 'GET', url: '/files', headers: { authorization: `Bearer ${wrong}` } })).statusCode, 401, 'a token signed with another secret is refused')
})

t.test('the command refuses in production and explains its usage', async (t) => {
  const production = run(['carol'], { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET })
  t.not(production.status, 0)
  t.equal(production.stdout, '', 'no token is printed')
  t.match(production.stderr, /Refusing to mint tokens with NODE_ENV=production/)
  const usage = run([], {})
  t.not(usage.status, 0)
  t.match(usage.stderr, /Usage: npm run token -- <subject>/)
  const badExpiry = run(['carol', '--expires', 'soon'], {})
  t.not(badExpiry.status, 0)
  t.match(badExpiry.stderr, /--expires must be a duration/)
  const tooLong = run(['carol', '--expires', '2d'], { JWT_SECRET: TEST_JWT_SECRET })
  t.not(tooLong.status, 0)
  t.equal(tooLong.stdout, '', 'no token filegate would refuse is printed')
  t.match(tooLong.stderr, /longer than JWT_MAX_TOKEN_LIFETIME \(86400 s\)/)
})
