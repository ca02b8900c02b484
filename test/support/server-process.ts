// The real server (`node --import tsx src/server.ts`) as a child process, for tests of signals, shutdown and memory.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { createTestBucket, freePort, s3ClientFor, testS3, testS3Env } from '../helper.js'

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

/** Starts the server on a fresh bucket of the test S3 (or `env.S3_ENDPOINT`) and waits until /health answers. */
export async function startServer (t: Test, env: Record<string, string> = {}): Promise<ServerProcess> {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...testS3Env(store),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RATE_LIMIT_ENABLED: 'false',
      ...env,
      S3_BUCKET: bucket,
    },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const pid = child.pid
  if (pid === undefined) throw new Error('the server did not start')

  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`)
    if (Date.now() > deadline) throw new Error(`the server did not answer /health within 60 s:\n${output}`)
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false)
    if (ok) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  return {
    base,
    pid,
    bucket,
    output: () => output,
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
