// `npm run cleanup` (and `npm run events`) with no S3 configured: use the embedded store `npm start` runs, or start it themselves; cleanup says which days it listed and why.
import { execFile } from 'node:child_process'
import { access, mkdtemp, rm, utimes } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { EMBEDDED_CREDENTIALS, startEmbeddedStore } from '../../src/storage/embedded-s3.js'
import { newFileId } from '../../src/uploads/file-id.js'
import { freePort, s3ClientFor } from '../helper.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exec = promisify(execFile)
const DAY = 86_400_000

/** `yyyy/mm/dd` of a UTC time, written out here rather than taken from the code under test. */
function day (time: number): string {
  const d = new Date(time)
  return `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`
}

interface Run { readonly code: number, readonly stdout: string, readonly stderr: string }

/** `npm run <script>` itself (its script carries the Node flags), with only a newcomer's environment. */
async function npmRun (script: string, args: string[], env: Record<string, string>): Promise<Run> {
  try {
    const { stdout, stderr } = await exec('npm', ['run', '--silent', script, '--', ...args], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown, stdout?: unknown, stderr?: unknown }
    return { code: typeof code === 'number' ? code : -1, stdout: String(stdout), stderr: String(stderr) }
  }
}

const npmCleanup = async (args: string[], env: Record<string, string>): Promise<Run> => await npmRun('cleanup', args, env)

async function portIsFree (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

t.test('npm run cleanup on the embedded store: with npm start\'s store up, and with none running', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'filegate-cleanup-embedded-'))
  const port = await freePort()
  // No S3 settings at all, as in a fresh clone: the embedded store is the store.
  const env = { EMBEDDED_S3_PORT: String(port), EMBEDDED_S3_DIR: directory }
  // Stands in for the store `npm start` runs, to hold an orphan granted three days ago.
  const store = await startEmbeddedStore({ bucket: 'filegate', port, directory, corsOrigins: [] })
  let storeOpen = true
  t.teardown(async () => {
    if (storeOpen) await store.close()
    await rm(directory, { recursive: true, force: true })
  })
  const s3 = s3ClientFor({ endpoint: store.endpoint, region: 'us-east-1', ...EMBEDDED_CREDENTIALS })
  t.teardown(() => s3.destroy())
  const granted = Date.now() - 3 * DAY
  const key = `uploads/${day(granted)}/${newFileId(granted)}.txt`
  await s3.send(new PutObjectCommand({ Bucket: 'filegate', Key: key, Body: 'never confirmed' }))
  // s3rver dates an object by its file's modification time.
  const objectFile = join(directory, 'filegate', `${key}._S3rver_object`)
  await utimes(objectFile, granted / 1000, granted / 1000)

  const beside = await npmCleanup(['--dry-run'], env)
  t.equal(beside.code, 0, beside.stderr)
  t.match(beside.stderr, `Using the embedded S3 store that \`npm start\` runs on http://127.0.0.1:${port}`, 'says it uses npm start\'s store')
  // s3rver has no ListMultipartUploads (501): the summary says that pass could not list, instead of failing the run.
  t.match(JSON.parse(beside.stdout), { dry_run: true, scanned: 1, deleted: 1, errors: 0, multipart_uploads_listed: false }, 'and finds the orphan there')

  await store.close()
  storeOpen = false
  const before = Date.now()
  const alone = await npmCleanup([], env)
  const after = Date.now()
  t.equal(alone.code, 0, alone.stderr)
  t.notMatch(alone.stderr, /try again later/)
  t.notMatch(alone.stderr, /NodeVersionSupportWarning/, 'no seven-line AWS SDK warning')
  if (Number.parseInt(process.versions.node, 10) < 22) t.match(alone.stderr, /^Node\.js \S+ is supported, but Node\.js 22 is recommended: [^\n]+\n/, 'one line about the Node.js version instead')
  t.match(alone.stderr, `The embedded S3 store runs inside \`npm start\`, which is not running: cleanup started it on http://127.0.0.1:${port} over ${directory}`,
    'says the store runs inside npm start, and that it started it')
  const summary = JSON.parse(alone.stdout) as { deleted: number, days: { from: string, to: string }, days_explained: string }
  t.match(summary, { dry_run: false, scanned: 1, deleted: 1, errors: 0 }, 'the orphan is deleted')
  await t.rejects(access(objectFile), 'from the store\'s directory')

  // The defaults: ORPHAN_TTL 24h, CLEANUP_LOOKBACK 30d. The run may cross a UTC midnight: either clock is right.
  const expected = [before, after].map((now) => ({ from: day(now - DAY - 30 * DAY), to: day(now - DAY), today: day(now) }))
  const matching = expected.find((e) => e.from === summary.days.from && e.to === summary.days.to) ?? expected[0]
  t.same(summary.days, { from: matching?.from, to: matching?.to }, 'the days from 31 days ago to yesterday are listed')
  t.match(summary.days_explained, `Listed the uploads granted on the UTC days ${matching?.from} to ${matching?.to}.`, 'the summary names the days')
  t.match(summary.days_explained, `Today (${matching?.today}) is not among them: an upload granted after ${matching?.to} is younger than the orphan age, 24h (--older-than, by default ORPHAN_TTL)`,
    'and says why today is not among them')
  t.match(summary.days_explained, /beyond the look-back of 30d \(--lookback, by default CLEANUP_LOOKBACK\)/, 'and why older days are not')
  t.ok(await portIsFree(port), 'the store it started is closed again')

  const shortAge = JSON.parse((await npmCleanup(['--dry-run', '--older-than', '2h'], env)).stdout) as { days_explained: string }
  const today = day(Date.now() - 2 * 3600_000) === day(Date.now())
  t.match(shortAge.days_explained, today ? /Today \(\S+\) is among them because the orphan age, 2h/ : /Today \(\S+\) is not among them/,
    'an age shorter than the time since midnight lists today, and says so')
})

t.test('npm run events with no store running starts the embedded one too', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'filegate-events-embedded-'))
  t.teardown(async () => { await rm(directory, { recursive: true, force: true }) })
  const port = await freePort()
  const run = await npmRun('events', ['list-dead'], { EMBEDDED_S3_PORT: String(port), EMBEDDED_S3_DIR: directory })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stderr, `The embedded S3 store runs inside \`npm start\`, which is not running: events started it on http://127.0.0.1:${port}`)
  t.match(run.stderr, /0 dead letter\(s\)/)
  t.ok(await portIsFree(port), 'and closes it')
})
