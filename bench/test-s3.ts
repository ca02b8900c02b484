// The benchmark's S3: TEST_S3_ENDPOINT when set, else a Ceph RGW of its own (own directory and ports), stopped at the end.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseRgwOutput } from '../test/s3/rgw-output.js'
import { cpuSeconds } from './servers.js'

export interface BenchS3 {
  readonly endpoint: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly region: string
  /** Where it came from, for the report. */
  readonly source: string
  /** CPU seconds its daemons (mon, osd, gateway) have used so far; NaN for a store the bench did not start. */
  cpuSeconds (): number
  stop (): void
}

const rgwScript = fileURLToPath(new URL('../test/s3/rgw.sh', import.meta.url))

export function startBenchS3 (env: NodeJS.ProcessEnv = process.env): BenchS3 {
  const { TEST_S3_ENDPOINT: endpoint, TEST_S3_ACCESS_KEY_ID: accessKeyId, TEST_S3_SECRET_ACCESS_KEY: secretAccessKey } = env
  if (endpoint !== undefined && endpoint !== '') {
    if (accessKeyId === undefined || secretAccessKey === undefined) throw new Error('TEST_S3_ENDPOINT needs TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY')
    return { endpoint, accessKeyId, secretAccessKey, region: env.TEST_S3_REGION ?? 'us-east-1', source: `TEST_S3_ENDPOINT ${endpoint}`, cpuSeconds: () => Number.NaN, stop: () => undefined }
  }
  // Ports outside the ranges the test suite and Ceph's defaults use; BENCH_RGW_PORT / BENCH_RGW_MON_PORT override them.
  const rgwEnv = {
    ...env,
    RGW_DIR: mkdtempSync(join(tmpdir(), 'filegate-bench-rgw-')),
    RGW_PORT: env.BENCH_RGW_PORT ?? '7595',
    RGW_MON_PORT: env.BENCH_RGW_MON_PORT ?? '6595',
  }
  const stop = () => {
    spawnSync('bash', [rgwScript, 'stop'], { env: rgwEnv, stdio: ['ignore', 'ignore', 'inherit'] })
    rmSync(rgwEnv.RGW_DIR, { recursive: true, force: true })
  }
  const started = spawnSync('bash', [rgwScript, 'start'], { env: rgwEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 })
  if (started.status !== 0) {
    stop()
    throw new Error(`could not start a Ceph RGW for the benchmark (set TEST_S3_ENDPOINT to use another store):\n${started.stderr}`)
  }
  const store = parseRgwOutput(started.stdout)
  return {
    ...store,
    source: `own Ceph RGW on ${store.endpoint} (${rgwEnv.RGW_DIR})`,
    cpuSeconds: () => daemonCpuSeconds(join(rgwEnv.RGW_DIR, 'run')),
    stop,
  }
}

/** The CPU seconds of the daemons whose pid files rgw.sh keeps in `runDir`. */
function daemonCpuSeconds (runDir: string): number {
  let total = 0
  for (const name of readdirSync(runDir).filter((n) => n.endsWith('.pid'))) {
    total += cpuSeconds(Number(readFileSync(join(runDir, name), 'utf8').trim()))
  }
  return total
}
