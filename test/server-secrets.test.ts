// Start-up and JWT secrets (issue 16, finding 4): the development secret and token only with the embedded store; published secrets refused in production.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { DEVELOPMENT_JWT_SECRET } from '../src/config.js'
import { freePort, testS3, testS3Env, TEST_JWT_SECRET } from './helper.js'
import { startServer } from './support/server-process.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const COMPOSE_SECRET = 'compose-dev-secret-not-for-production-0123456789'

/** Starts src/server.ts with exactly `env` (and PATH, HOME) and expects it to exit; returns its code and output. */
async function startExpectingExit (env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(await freePort()), HOST: '127.0.0.1', ...env },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref())
  const outcome = await Promise.race([exited, timeout])
  if (outcome === 'timeout') {
    child.kill('SIGKILL')
    throw new Error(`the server did not exit within 60 s:\n${output}`)
  }
  return { code: outcome, output }
}

/** The test S3's settings without any JWT variable. */
function realStoreEnv (): Record<string, string> {
  const env = testS3Env(testS3())
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'JWT_SECRET' && name !== 'NODE_ENV'))
}

t.test('a real S3_ENDPOINT without JWT_SECRET: start-up fails naming it, in development too, and prints no token', async (t) => {
  const { code, output } = await startExpectingExit(realStoreEnv())
  t.equal(code, 1, 'the process exits 1')
  t.match(output, /JWT_SECRET \(or JWT_PUBLIC_KEY or JWT_JWKS_URL\) must be set when S3_ENDPOINT is/, 'the message names JWT_SECRET')
  t.notMatch(output, /Development token/, 'no development token is printed')
  t.notMatch(output, /ey[\w-]+\.[\w-]+\.[\w-]+/, 'no token at all')
})

t.test('the development secret with a real S3_ENDPOINT is refused', async (t) => {
  const { code, output } = await startExpectingExit({ ...realStoreEnv(), JWT_SECRET: DEVELOPMENT_JWT_SECRET })
  t.equal(code, 1)
  t.match(output, /JWT_SECRET must not be the development secret when S3_ENDPOINT is set/)
})

t.test('production refuses the compose file\'s secret unless JWT_ALLOW_PUBLIC_SECRET=true', async (t) => {
  const refused = await startExpectingExit({ ...realStoreEnv(), NODE_ENV: 'production', JWT_SECRET: COMPOSE_SECRET })
  t.equal(refused.code, 1)
  t.match(refused.output, /JWT_SECRET is a secret published in this repository .*JWT_ALLOW_PUBLIC_SECRET=true/)
  const allowed = await startServer(t, { NODE_ENV: 'production', JWT_SECRET: COMPOSE_SECRET, JWT_ALLOW_PUBLIC_SECRET: 'true' })
  t.equal((await fetch(`${allowed.base}/health`)).status, 200, 'with JWT_ALLOW_PUBLIC_SECRET=true it starts')
  allowed.kill('SIGTERM')
  await allowed.exited
})

t.test('development against a real store with a secret of its own: no development token anywhere, the development secret refused', async (t) => {
  const server = await startServer(t, { NODE_ENV: 'development', JWT_SECRET: TEST_JWT_SECRET, DEMO_PAGE: 'true' })
  const settings = await (await fetch(`${server.base}/demo/settings.json`)).json() as { token: unknown }
  t.equal(settings.token, null, 'the demo page gets no token to pre-fill')
  t.notMatch(server.output(), /Development token/, 'none is printed')
  const devToken = createSigner({ key: DEVELOPMENT_JWT_SECRET, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'dev-user' })
  const refused = await fetch(`${server.base}/files`, { headers: { authorization: `Bearer ${devToken}` } })
  t.equal(refused.status, 401, 'a token signed with the development secret is refused')
  const own = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'alice' })
  t.equal((await fetch(`${server.base}/files`, { headers: { authorization: `Bearer ${own}` } })).status, 200, 'one signed with the configured secret works')
  server.kill('SIGTERM')
  await server.exited
})
