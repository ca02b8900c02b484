// The real server (`node --import tsx src/server.ts`) as a child process, for tests of signals, shutdown and memory.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { createTestBucket, freePort, s3ClientFor, testS3, testS3Env } from '../helper.js'
import { spawnTestChild, waitUntilAnswering, type TestChild } from './child-process.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface ServerProcess {
  readonly base: string
  readonly pid: number
  readonly bucket: string
  /** Everything the process wrote to stdout and stderr so far. */
  output (): string
  /** Its resident set size, from /proc/<pid>/status. */
  rssBytes (): Promise<number>
  readonly exited: Promise<{ readonly code: number | null, readonly signal: NodeJS.Signals | null }>
  kill (signal: NodeJS.Signals): void
}

/** How long the server may take to answer /health (tsx compiles on start; the machine may be busy). */
export const SERVER_START_DEADLINE_MS = 60_000

/**
 * `node --import tsx src/server.ts` on the test S3, with only `env` beyond the store's settings and a path.
 * Load shedding is off unless `env` turns it on: on a busy 2-core CI machine a process's event loop can lag past
 * the threshold, and its 503 OVERLOADED answers would fail tests about other things (as buildTestApp does in process).
 */
export function spawnFilegate (env: Record<string, string>, keep = Number.POSITIVE_INFINITY): TestChild {
  return spawnTestChild(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    keep,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...testS3Env(testS3()), HOST: '127.0.0.1', LOAD_SHED_MAX_EVENT_LOOP_DELAY: '0', ...env },
  })
}

/** Waits until the server on `port` answers /health. */
export async function waitForHealth (started: TestChild, what: string, port: number): Promise<void> {
  await waitUntilAnswering(started, what, async () => await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false), { deadlineMs: SERVER_START_DEADLINE_MS })
}

/** Starts the server on a fresh bucket of the test S3 (or `env.S3_ENDPOINT`) and waits until /health answers. */
export async function startServer (t: Test, env: Record<string, string> = {}): Promise<ServerProcess> {
  const s3 = s3ClientFor(testS3())
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const port = await freePort()
  const started = spawnFilegate({ PORT: String(port), LOG_LEVEL: 'info', RATE_LIMIT_ENABLED: 'false', ...env, S3_BUCKET: bucket })
  const { child } = started
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const pid = child.pid
  if (pid === undefined) throw new Error('the server did not start')
  const base = `http://127.0.0.1:${port}`
  await waitForHealth(started, 'the server', port)

  return {
    base,
    pid,
    bucket,
    output: started.output,
    async rssBytes () {
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
      if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`)
      return Number(kb) * 1024
    },
    exited,
    kill: (signal) => { child.kill(signal) },
  }
}
