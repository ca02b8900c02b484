// A private Ceph RGW for tests that kill or restart the gateway, so the shared test S3 is never disturbed.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { freePort, type TestS3 } from '../helper.js'
import { parseRgwOutput } from '../s3/rgw-output.js'

const run = promisify(execFile)
const script = fileURLToPath(new URL('../s3/rgw.sh', import.meta.url))

export interface OwnRgw extends TestS3 {
  /** SIGKILLs the radosgw process; the monitor and the in-memory OSD (the data) keep running. */
  killGateway (): Promise<void>
  /** Starts the gateway again (after a kill, or stopping it first) and waits until it answers. */
  restartGateway (): Promise<void>
  /** radosgw-admin on this cluster; its stdout. */
  admin (...args: string[]): Promise<string>
}

/**
 * Starts a one-node cluster of its own (about 10 s) and stops it, with its directory, when the test ends. `stsKey`
 * (16 characters) turns STS on.
 */
export async function startOwnRgw (t: Test, { stsKey }: { stsKey?: string } = {}): Promise<OwnRgw> {
  const dir = await mkdtemp(join(tmpdir(), 'filegate-rgw-'))
  const env = { ...process.env, RGW_DIR: dir, RGW_PORT: String(await freePort()), RGW_MON_PORT: String(await freePort()), ...(stsKey !== undefined && { RGW_STS_KEY: stsKey }) }
  const rgw = async (command: string, ...args: string[]) => await run('bash', [script, command, ...args], { env, timeout: 120_000 })
  t.teardown(async () => {
    await rgw('stop').catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  })
  const { stdout } = await rgw('start')
  return {
    ...parseRgwOutput(stdout),
    async killGateway () {
      const pid = Number((await rgw('gateway-pid')).stdout.trim())
      if (!Number.isInteger(pid) || pid <= 1) throw new Error('rgw.sh gateway-pid printed no pid')
      process.kill(pid, 'SIGKILL')
      // Gone once /proc no longer lists it as running.
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0)
        } catch {
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    async restartGateway () {
      await rgw('restart-gateway')
    },
    async admin (...args) {
      return (await rgw('admin', ...args)).stdout
    },
  }
}
