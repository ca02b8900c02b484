// `npm run cleanup`: a dry run and a real run report the same counts, orphans go, the rest stays; unsafe ages are refused.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { buildTestApp, listKeys, testS3 } from '../helper.js'
import { confirm, fileTraces, uploadFile } from '../support/flow.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exec = promisify(execFile)

interface Run { readonly code: number, readonly stdout: string, readonly stderr: string }

/** Runs the command `npm run cleanup` runs (through npm itself with `viaNpm`, which adds about a second). */
async function cleanup (args: string[], env: Record<string, string>, viaNpm = false): Promise<Run> {
  const [command, commandArgs] = viaNpm
    ? ['npm', ['run', '--silent', 'cleanup', '--', ...args]]
    : [process.execPath, ['--import', 'tsx', 'src/cli/cleanup.ts', ...args]]
  try {
    const { stdout, stderr } = await exec(command, commandArgs, { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown, stdout?: unknown, stderr?: unknown }
    return { code: typeof code === 'number' ? code : -1, stdout: String(stdout), stderr: String(stderr) }
  }
}

t.test('npm run cleanup deletes orphans past the age and no confirmed file; --dry-run counts the same and deletes nothing', async (t) => {
  // Fresh uploads being kept is shown by test/cleanup/orphan-sweeper.test.ts, with a clock the test controls; here
  // the ages are real, and each run takes seconds of start-up on a busy machine.
  // The grant must outlive three uploads on a busy machine; the orphan age only has to exceed it.
  const ages = { UPLOAD_URL_EXPIRES: '3s', ORPHAN_TTL: '4s' }
  const { app, s3, bucket } = await buildTestApp(t, { ...ages, RATE_LIMIT_ENABLED: 'false' })
  const store = testS3()
  // No JWT key: cleanup verifies no token, so it needs none (issue 16, finding 4).
  const env = {
    ...ages, NODE_ENV: 'test', S3_ENDPOINT: store.endpoint, S3_REGION: store.region, S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, S3_BUCKET: bucket,
  }
  const confirmed = await uploadFile(app, 'alice', 'confirmed at once')
  t.equal((await confirm(app, 'alice', confirmed.key)).statusCode, 201)
  const orphans = [await uploadFile(app, 'alice', 'abandoned'), await uploadFile(app, 'bob', 'abandoned too')]
  await new Promise((resolve) => setTimeout(resolve, 4500))

  const before = (await listKeys(s3, bucket)).sort()
  const dry = await cleanup(['--dry-run'], env)
  t.equal(dry.code, 0, dry.stderr)
  const drySummary = JSON.parse(dry.stdout) as Record<string, unknown>
  t.match(drySummary, { dry_run: true, older_than_seconds: 4, scanned: 3, deleted: 2, kept: 0, staging_removed: 1, errors: 0, multipart_uploads_listed: true }, 'the dry run finds the two orphans, and the confirmed file\'s spent upload')
  t.same((await listKeys(s3, bucket)).sort(), before, 'and deletes nothing')

  const real = await cleanup([], env, true)
  t.equal(real.code, 0, real.stderr)
  t.same({ ...JSON.parse(real.stdout) as Record<string, unknown>, dry_run: true }, drySummary, 'the real run reports the same counts')
  const after = new Set(await listKeys(s3, bucket))
  t.ok(orphans.every((o) => !after.has(o.key)), 'the orphans are deleted')
  t.same(await fileTraces(s3, bucket, 'alice', confirmed), { object: true, record: true, indexEntry: true }, 'the confirmed file keeps its copy, record and index entry')

  const longer = await cleanup(['--older-than', '1h'], env)
  t.match(JSON.parse(longer.stdout), { older_than_seconds: 3600, deleted: 0 }, '--older-than sets the age')
})

t.test('npm run cleanup refuses ages that would delete uploads in progress, and bad arguments', async (t) => {
  const env = { UPLOAD_URL_EXPIRES: '15m', NODE_ENV: 'test', S3_ENDPOINT: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }
  const cases = [
    ['--older-than 10m', ['--older-than', '10m'], env, /--older-than \(600 s\) must be longer than UPLOAD_URL_EXPIRES \(900 s\)/],
    ['--older-than equal to UPLOAD_URL_EXPIRES', ['--older-than', '15m', '--dry-run'], env, /must be longer than UPLOAD_URL_EXPIRES/],
    ['--older-than soon', ['--older-than', 'soon'], env, /--older-than must be a duration/],
    ['ORPHAN_TTL not longer than UPLOAD_URL_EXPIRES', [], { ...env, ORPHAN_TTL: '15m' }, /ORPHAN_TTL must be longer than UPLOAD_URL_EXPIRES/],
    ['an unknown option', ['--everything'], env, /Usage: npm run cleanup/],
  ] as const
  // Two at a time: each is a Node start-up, and the machine has two cores.
  const runs: Run[] = []
  for (let i = 0; i < cases.length; i += 2) runs.push(...await Promise.all(cases.slice(i, i + 2).map(async ([, args, caseEnv]) => await cleanup([...args], caseEnv))))
  for (const [i, [name, , , message]] of cases.entries()) {
    const run = runs[i] ?? { code: -1, stdout: '', stderr: '' }
    t.equal(run.code, 2, `${name}: refused`)
    t.match(run.stderr, message, `${name}: says why`)
    t.equal(run.stdout, '', `${name}: prints no summary`)
  }
})
