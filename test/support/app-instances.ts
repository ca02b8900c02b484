// Several filegate apps in this process on one bucket of the test S3, as several instances behind a load balancer are.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { pino } from 'pino'
import type { Test } from 'tap'
import { buildApp, loggerOptions } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { bearer, createTestBucket, postToS3, s3ClientFor, testS3, testS3Env } from '../helper.js'

export interface Instances {
  readonly apps: readonly FastifyInstance[]
  readonly bucket: string
  /** Every log line each app wrote, as parsed JSON. */
  readonly logs: ReadonlyArray<Array<Record<string, unknown>>>
  /** Request `i` goes to app `i % apps.length`: round robin. */
  inject (i: number, options: InjectOptions): Promise<LightMyRequestResponse>
}

export async function startInstances (t: Test, count: number, env: Record<string, string> = {}): Promise<Instances> {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const apps: FastifyInstance[] = []
  const logs: Array<Array<Record<string, unknown>>> = []
  for (let i = 0; i < count; i++) {
    const config = loadConfig({ ...testS3Env(store), LOG_LEVEL: 'warn', MAX_FILE_SIZE: '1MiB', ...env, S3_BUCKET: bucket })
    const lines: Array<Record<string, unknown>> = []
    logs.push(lines)
    const logger = pino(loggerOptions(config), { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
    const app = await buildApp(config, { logger })
    t.teardown(() => app.close())
    await app.ready()
    apps.push(app)
  }
  if (env.REDIS_URL !== undefined) await redisConnected(apps)
  return {
    apps,
    bucket,
    logs,
    inject: async (i, options) => {
      const app = apps[i % apps.length]
      if (app === undefined) throw new Error('no apps')
      return await app.inject(options)
    },
  }
}

/** Waits (at most 15 s) until every app's Redis client is connected. */
export async function redisConnected (apps: readonly FastifyInstance[]): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!apps.every((app) => app.redis?.client.status === 'ready')) {
    if (Date.now() > deadline) throw new Error(`Redis clients not connected after 15 s: ${apps.map((app) => app.redis?.client.status).join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Uploads, confirms and shares one file through `app`; returns its id. */
export async function sharedFile (app: FastifyInstance, owner: string): Promise<string> {
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'shared.txt' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  if ((await postToS3(grant, 'for everyone')).status !== 204) throw new Error('S3 refused the upload')
  const confirmed = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })
  if (confirmed.statusCode !== 201) throw new Error(`confirm answered ${confirmed.statusCode}`)
  const shared = await app.inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: bearer(owner), payload: { is_public: true } })
  if (shared.statusCode !== 200) throw new Error(`sharing answered ${shared.statusCode}`)
  return grant.file_id
}
