// `npm start` with no configuration: comes up on the embedded store, prints a token, and the whole flow works.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PACKAGE_VERSION } from '../src/package-info.js'
import { freePort, postToS3 } from './helper.js'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('npm start runs the service on the embedded store', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'filegate-start-'))
  const [port, s3Port] = [await freePort(), await freePort()]
  // Only what a newcomer's shell has: no S3 or JWT settings at all.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), EMBEDDED_S3_PORT: String(s3Port), EMBEDDED_S3_DIR: join(dataDir, 's3') }
  const child = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  // 'close' waits for every holder of the pipes (npm and the server under it) to exit.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  })

  const deadline = Date.now() + 30_000
  let token: string | undefined
  while (token === undefined && Date.now() < deadline && child.exitCode === null) {
    token = /Bearer (ey[\w-]+\.[\w-]+\.[\w-]+)/.exec(output)?.[1]
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.ok(token, 'the start-up log prints a development token')
  if (token === undefined) throw new Error(`no token in output:\n${output}`)
  t.match(output, /enforces NO upload policy/, 'the log warns that the embedded store checks no policy')
  t.notMatch(output, /NodeVersionSupportWarning/, 'no seven-line AWS SDK warning at start-up')
  if (Number.parseInt(process.versions.node, 10) < 22) t.match(output, /is supported, but Node\.js 22 is recommended/, 'one line about the Node.js version instead')

  const base = `http://127.0.0.1:${port}`
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  t.equal((await fetch(`${base}/ready`)).status, 200, 'ready on the embedded store')
  t.match(output, `filegate ${PACKAGE_VERSION} is running`, 'a banner for a person')
  t.match(output, `API        ${base}\n`, 'the banner names the API')
  t.match(output, `Swagger UI ${base}/docs\n`, 'the banner names Swagger UI')
  t.match(output, `Demo page  ${base}/demo\n`, 'the banner names the example page')
  t.match(output, /checks no signature: size and type limits/, 'the scrubber leaves the embedded-store warning whole')
  const index = await (await fetch(`${base}/`)).json() as { links?: Record<string, string> }
  t.same(index.links && [index.links.docs, index.links.demo], ['/docs', '/demo'], 'GET / points to /docs and /demo')
  t.equal((await fetch(`${base}/demo`)).status, 200, 'the example page is on')
  const { token: pageToken } = await (await fetch(`${base}/demo/settings.json`)).json() as { token: unknown }
  t.equal(typeof pageToken, 'string', 'the example page gets a development token to pre-fill')
  t.equal((await fetch(`${base}/files`, { headers: { authorization: `Bearer ${String(pageToken)}` } })).status, 200, 'and that token works')
  const bytes = randomBytes(4096)
  const grant = await (await fetch(`${base}/files/upload-url`, { method: 'POST', headers, body: JSON.stringify({ filename: 'hello.bin' }) })).json() as { url: string, key: string, fields: Record<string, string>, file_id: string }
  t.ok((await postToS3(grant, bytes)).ok, 'the browser-style POST to the embedded store succeeds')
  const confirm = await fetch(`${base}/files/confirm/${grant.key}`, { method: 'POST', headers })
  t.equal(confirm.status, 201)
  t.equal((await fetch(`${base}/files/confirm/${grant.key}`, { method: 'POST', headers })).status, 200)
  const { download_url: url } = await (await fetch(`${base}/files/download/${grant.file_id}`, { headers })).json() as { download_url: string }
  t.ok(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(bytes), 'the download returns identical bytes')
  const list = await (await fetch(`${base}/files`, { headers })).json() as { items: Array<{ id: string }> }
  t.same(list.items.map((r) => r.id), [grant.file_id])
  t.equal((await fetch(`${base}/files/${grant.file_id}`, { method: 'DELETE', headers })).status, 204)
  t.equal((await fetch(`${base}/files/download/${grant.file_id}`, { headers })).status, 404)

  // SIGTERM reaches the whole group, npm included; the server itself must close gracefully.
  if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
  await exited
  t.match(output, /"msg":"closing"/, 'SIGTERM closes the server gracefully')
})
