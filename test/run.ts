// The test command: starts the test S3 (Ceph RGW) unless TEST_S3_ENDPOINT is given, runs tap, stops it, and prints the summary line.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rgwVariables } from './s3/rgw-output.js'
import { TapFailures } from './support/tap-failures.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const rgwScript = fileURLToPath(new URL('s3/rgw.sh', import.meta.url))
const env: NodeJS.ProcessEnv = { ...process.env }
const startedRgw = env.TEST_S3_ENDPOINT === undefined || env.TEST_S3_ENDPOINT === ''

function stopRgw (): void {
  if (startedRgw) spawnSync('bash', [rgwScript, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] })
}

if (startedRgw) {
  process.stderr.write('Starting the test S3 (Ceph RADOS Gateway) on 127.0.0.1…\n')
  const started = spawnSync('bash', [rgwScript, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (started.status !== 0) {
    process.stderr.write('Could not start the test S3. Install it with `apt-get install -y radosgw ceph-mon ceph-osd`, or point the tests at another store with TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY.\n')
    stopRgw()
    process.exit(1)
  }
  for (const [name, value] of rgwVariables(started.stdout)) env[name] = value
  env.TEST_S3_RGW = '1'
}

const files = process.argv.slice(2)
const tap = spawn(join(root, 'node_modules/.bin/tap'), ['--reporter=tap', ...files], {
  cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'],
})
let summary = ''
const failures = new TapFailures()
tap.stdout.setEncoding('utf8')
tap.stdout.on('data', (chunk: string) => {
  process.stdout.write(chunk)
  summary = (summary + chunk).slice(-4096)
  failures.push(chunk)
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => tap.kill(signal))

tap.on('close', (code) => {
  stopRgw()
  const counts = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(summary)
  const passed = Number(counts?.[2] ?? 0)
  const reportedFailures = Number(counts?.[3] ?? 0)
  // A run that exited non-zero without counting a failure (a crash, a bad file) still failed.
  const failed = code !== 0 && reportedFailures === 0 ? 1 : reportedFailures
  // Repeated here because CI keeps only the end of the log.
  if (failures.count > 0) process.stdout.write(`\n== The failed checks, again:\n\n${failures.report()}\n`)
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  process.exit(code === 0 && failed === 0 ? 0 : 1)
})
