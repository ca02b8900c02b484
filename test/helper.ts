// Test helpers: the real app against the real test S3, one fresh bucket per app, and tokens for any user.
import { randomBytes } from 'node:crypto'
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client,
} from '@aws-sdk/client-s3'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { LoggerOptions } from 'pino'
import { createSigner } from 'fast-jwt'
import type { Test } from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'


export const TEST_JWT_SECRET = 'filegate-test-secret-0123456789-abcdefghij'

export interface TestS3 {
  readonly endpoint: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly region: string
}

/** The store the suite runs against: the RGW that `npm test` started, or TEST_S3_ENDPOINT. */
export function testS3 (): TestS3 {
  const { TEST_S3_ENDPOINT: endpoint, TEST_S3_ACCESS_KEY_ID: accessKeyId, TEST_S3_SECRET_ACCESS_KEY: secretAccessKey } = process.env
  if (endpoint === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
    throw new Error('No test S3: run the suite with `npm test`, or set TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY')
  }
  return { endpoint, accessKeyId, secretAccessKey, region: process.env.TEST_S3_REGION ?? 'us-east-1' }
}

export function s3ClientFor (s3: TestS3): S3Client {
  return new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })
}

export function uniqueBucketName (): string {
  return `fg-test-${randomBytes(6).toString('hex')}`
}

/** Creates a bucket and removes it, with everything in it, when the test ends. */
export async function createTestBucket (t: Test, client: S3Client, bucket: string = uniqueBucketName()): Promise<string> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  t.teardown(async () => {
    await emptyBucket(client, bucket)
    await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined)
  })
  return bucket
}

export async function emptyBucket (client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const keys = await listKeys(client, bucket)
    if (keys.length === 0) return
    // S3 deletes at most 1000 keys per request.
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }))
    }
  }
}

/** Every key in the bucket (or under a prefix). */
export async function listKeys (client: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key)
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined
  } while (token !== undefined)
  return keys
}

export async function readObject (client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return Buffer.from(await out.Body?.transformToByteArray() ?? new Uint8Array())
}

const signToken = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', expiresIn: 3600_000 })

/** A valid token for `sub`, signed with the test secret. */
export function tokenFor (sub: string, claims: Record<string, unknown> = {}): string {
  return signToken({ sub, ...claims })
}

export function bearer (sub: string): { authorization: string } {
  return { authorization: `Bearer ${tokenFor(sub)}` }
}

export interface TestApp {
  readonly app: FastifyInstance
  readonly config: Config
  readonly bucket: string
  /** A client for the test's own checks, with the same keys. */
  readonly s3: S3Client
}

/** The settings that point filegate at a test store, with the test JWT secret. */
export function testS3Env (store: TestS3): Record<string, string> {
  return {
    NODE_ENV: 'test',
    S3_ENDPOINT: store.endpoint,
    S3_REGION: store.region,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: store.accessKeyId,
    AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
    JWT_SECRET: TEST_JWT_SECRET,
  }
}

/** How a test app logs (a logger made from its config), and what the test adds to it before it is ready. */
export interface TestAppOptions {
  readonly logger?: (config: Config) => FastifyBaseLogger | LoggerOptions
  readonly beforeReady?: (app: FastifyInstance) => void
  /** A development token for the demo page to pre-fill, as server.ts passes one in development. */
  readonly developmentToken?: () => string
}

/** The real app on a fresh bucket of the test S3; `env` overrides any setting. */
export async function buildTestApp (t: Test, env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3, env.S3_BUCKET)
  // No load shedding unless a test asks for it: the machine running the suite may be busy enough to trip it.
  const config = loadConfig({ ...testS3Env(store), LOG_LEVEL: 'silent', MAX_FILE_SIZE: '1MiB', LOAD_SHED_MAX_EVENT_LOOP_DELAY: '0', ...env, S3_BUCKET: bucket })
  const app = await buildApp(config, {
    ...(options.logger !== undefined && { logger: options.logger(config) }),
    ...(options.developmentToken !== undefined && { developmentToken: options.developmentToken }),
  })
  options.beforeReady?.(app)
  t.teardown(() => app.close())
  await app.ready()
  return { app, config, bucket, s3 }
}

/** Posts `body` to a presigned POST grant as a real multipart form: every field first, the file last. */
export async function postToS3 (grant: { url: string, fields: Record<string, string> }, body: Uint8Array | string, options: { contentType?: string, fields?: Record<string, string | undefined>, filename?: string } = {}): Promise<Response> {
  const form = new FormData()
  const fields: Record<string, string | undefined> = { ...grant.fields, ...options.fields }
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value)
  form.append('file', new Blob([typeof body === 'string' ? body : new Uint8Array(body)], { type: options.contentType ?? fields['Content-Type'] ?? 'application/octet-stream' }), options.filename ?? 'upload.bin')
  return await fetch(grant.url, { method: 'POST', body: form })
}

export { freePort } from './support/free-port.js'
