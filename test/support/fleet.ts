// Several real filegate processes (`node --import tsx src/server.ts`) on one bucket of the test S3, each on ports of its own, restartable.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { createTestBucket, freePort, s3ClientFor, testS3, testS3Env } from '../helper.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface Instance {
  readonly name: string
  readonly port: number
  readonly metricsPort: number
  /** Starts the process (again, after a kill) and waits until /health answers. */
  start (): Promise<void>
  /** SIGKILL, and waits until the process is gone. */
  kill (): Promise<void>
  output (): string
}

export interface Fleet {
  readonly bucket: string
  readonly instances: readonly Instance[]
}

/** How long a process may take to answer /health (tsx compiles on start; the machine may be busy). */
const START_DEADLINE_MS = 60_000

export async function startFleet (t: Test, names: readonly string[], env: Record<string, string>): Promise<Fleet> {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const instances = await Promise.all(names.map(async (name) => {
    const port = await freePort()
    const metricsPort = await freePort()
    let child: ChildProcess | undefined
    let output = ''
    const instance: Instance = {
      name,
      port,
      metricsPort,
      async start () {
        const started = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            ...testS3Env(store),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            DEMO_PAGE: 'false',
            ...env,
            PORT: String(port),
            METRICS_PORT: String(metricsPort),
            S3_BUCKET: bucket,
          },
        })
        child = started
        started.stdout?.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-20_000) })
        started.stderr?.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-20_000) })
        const deadline = Date.now() + START_DEADLINE_MS
        while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
          if (started.exitCode !== null) throw new Error(`${name} exited with ${started.exitCode}:\n${output}`)
          if (Date.now() > deadline) throw new Error(`${name} did not answer /health within ${START_DEADLINE_MS} ms:\n${output}`)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      },
      async kill () {
        const running = child
        if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
        const exited = new Promise((resolve) => running.once('exit', resolve))
        running.kill('SIGKILL')
        await exited
      },
      output: () => output,
    }
    t.teardown(() => instance.kill())
    return instance
  }))
  await Promise.all(instances.map(async (instance) => { await instance.start() }))
  return { bucket, instances }
}
