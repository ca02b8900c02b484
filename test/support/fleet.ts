// Several real filegate processes (`node --import tsx src/server.ts`) on one bucket of the test S3, each on ports of its own, restartable.
import type { ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { createTestBucket, freePort, s3ClientFor, testS3 } from '../helper.js'
import { stopTestChild } from './child-process.js'
import { spawnFilegate, waitForHealth } from './server-process.js'

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

export async function startFleet (t: Test, names: readonly string[], env: Record<string, string>): Promise<Fleet> {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const instances = await Promise.all(names.map(async (name) => {
    const port = await freePort()
    const metricsPort = await freePort()
    let child: ChildProcess | undefined
    let output = (): string => ''
    const instance: Instance = {
      name,
      port,
      metricsPort,
      async start () {
        const started = spawnFilegate({ LOG_LEVEL: 'warn', DEMO_PAGE: 'false', ...env, PORT: String(port), METRICS_PORT: String(metricsPort), S3_BUCKET: bucket }, 20_000)
        child = started.child
        // The output of every run so far, as it was before a restart.
        const before = output()
        output = () => (before + started.output()).slice(-20_000)
        await waitForHealth(started, name, port)
      },
      async kill () { await stopTestChild(child, { signal: 'SIGKILL' }) },
      output: () => output(),
    }
    t.teardown(() => instance.kill())
    return instance
  }))
  await Promise.all(instances.map(async (instance) => { await instance.start() }))
  return { bucket, instances }
}
