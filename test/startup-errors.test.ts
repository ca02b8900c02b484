// `npm start` when a port is taken: one line that names the port and the variable to change, no stack, exit 1.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { listenFailureMessage } from '../src/startup-errors.js'
import { freePort } from './helper.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/** A port held by another listener for the rest of the test, as a running filegate or another program would. */
async function occupiedPort (t: Test): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Runs `npm start` with only `env` beside PATH and HOME, until it exits (60 s at most); its output and exit code. */
async function npmStart (t: Test, env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'filegate-startup-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, EMBEDDED_S3_DIR: join(dataDir, 's3'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL') }, 60_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** The server's own lines on stderr, without npm's report of the failed script. */
const ownLines = (stderr: string) => stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('npm '))

t.test('a busy PORT: one line naming the port and PORT', async (t) => {
  const port = await occupiedPort(t)
  const { code, stdout, stderr } = await npmStart(t, { PORT: String(port), EMBEDDED_S3_PORT: String(await freePort()) })
  t.equal(code, 1, 'exits 1')
  t.same(ownLines(stderr), [`filegate: port ${port} on 127.0.0.1 is already in use (another npm start, or another program). Stop it, or set PORT to a free port, e.g. PORT=${port + 1}.`], `one line: ${stderr}`)
  t.notMatch(stdout + stderr, /EADDRINUSE|"stack"|\n {4}at /, 'no stack, no JSON error')
})

t.test('a busy embedded store port (a second npm start): one line naming EMBEDDED_S3_PORT', async (t) => {
  const s3Port = await occupiedPort(t)
  const { code, stdout, stderr } = await npmStart(t, { PORT: String(await freePort()), EMBEDDED_S3_PORT: String(s3Port) })
  t.equal(code, 1, 'exits 1')
  t.same(ownLines(stderr), [`The embedded S3 store: port ${s3Port} on 127.0.0.1 is already in use (another npm start, or another program). Stop it, or set EMBEDDED_S3_PORT to a free port, e.g. EMBEDDED_S3_PORT=${s3Port + 1}.`], `one line: ${stderr}`)
  t.notMatch(stdout + stderr, /Unhandled 'error' event|EADDRINUSE|\n {4}at /, 'no stack')
})

t.test('other listen failures a setting can fix', (t) => {
  const listener = { name: 'filegate', host: '10.9.9.9', port: 80, variable: 'PORT' }
  t.match(listenFailureMessage({ code: 'EACCES' }, listener), /ports below 1024 need privileges\. Set PORT to 1024 or above/)
  t.match(listenFailureMessage({ code: 'EADDRNOTAVAIL' }, listener), /10\.9\.9\.9 is not an address of this machine\. Set HOST/)
  t.match(listenFailureMessage({ code: 'ENOTFOUND' }, listener), /HOST 10\.9\.9\.9 does not resolve/)
  t.equal(listenFailureMessage(new Error('something else'), listener), undefined, 'anything else is not dressed up')
  t.end()
})
