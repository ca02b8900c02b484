// The benchmark's reference: bare Fastify with a hello-world GET, a POST doing upload-url's HTTP work, and raw signed S3 reads and writes.
import { randomBytes } from 'node:crypto'
import { S3Client } from '@aws-sdk/client-s3'
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { Agent } from 'undici'
import { FileRecordSchema, type FileRecord } from '../src/schemas/file-record.js'
import { UploadGrantSchema, UploadUrlBodySchema } from '../src/schemas/files-api.js'
import { ownerIndexKeyFor, recordKeyFor } from '../src/storage/record-store.js'
import { createRequestSigner, EMPTY_SHA256, sha256Hex, type RequestToSign } from '../src/storage/sigv4.js'
import { SNIFF_BYTES } from '../src/uploads/content-sniffing.js'

const port = Number(process.env.PORT ?? 3100)
// A grant filegate really issued, so the reply has the same size and shape; the bench passes one in.
const reply: unknown = JSON.parse(process.env.REFERENCE_REPLY ?? '{"url":"http://127.0.0.1/b","key":"k","fields":{},"expires_in":900,"max_size":1,"file_id":"0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b"}')
if (!Value.Check(UploadGrantSchema, reply)) throw new Error('REFERENCE_REPLY is not an upload grant')
const grant = reply

// The same body limit and validator options as filegate (src/app.ts); no logger, no auth, no signing.
const app = Fastify({
  logger: false,
  bodyLimit: 16 * 1024,
  ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
}).withTypeProvider<TypeBoxTypeProvider>()

app.get('/hello', async () => ({ hello: 'world' }))

app.post('/upload-url', {
  schema: { body: UploadUrlBodySchema, response: { 200: UploadGrantSchema } },
}, async () => grant)

// The floor of a record read and of confirm's S3 work: each S3 call one request signed with SigV4 headers (a cached
// key, as filegate's presigner signs) over a pooled undici client; no retries, no SDK, no auth, no logging.
const { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env
if (endpoint !== undefined && bucket !== undefined && accessKeyId !== undefined && secretAccessKey !== undefined) {
  // The SDK client only resolves the endpoint and holds the credentials: it sends nothing.
  const client = new S3Client({ endpoint, region: process.env.S3_REGION ?? 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } })
  const signer = createRequestSigner(client, bucket)
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 })
  const send = async (request: RequestToSign, body?: string) => {
    const signed = await signer.sign(request)
    if (signed === undefined) throw new Error('the reference signs plain SigV4 endpoints only')
    // HEADs keep their connection, as filegate's lean client's do (undici closes it after a HEAD by default).
    const res = await agent.request({ origin: endpoint, path: signed.path, method: request.method, headers: signed.headers, reset: request.method === 'HEAD' ? false : undefined, ...(body !== undefined && { body }) })
    const bytes = Buffer.from(await res.body.arrayBuffer())
    return { status: res.statusCode, headers: res.headers, bytes }
  }
  // Any answer but success is an error the bench counts.
  const failed = (status: number) => Object.assign(new Error(`S3 answered ${status}`), { statusCode: 502 })
  const header = (headers: Record<string, string | string[] | undefined>, name: string) => { const v = headers[name]; return Array.isArray(v) ? v[0] ?? '' : v ?? '' }

  app.get('/record/:id', {
    schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 200: FileRecordSchema } },
  }, async (request) => {
    const res = await send({ method: 'GET', key: recordKeyFor(request.params.id), headers: {}, payloadHash: EMPTY_SHA256 })
    if (res.status !== 200) throw failed(res.status)
    return JSON.parse(res.bytes.toString('utf8')) as FileRecord
  })

  // Confirm's S3 work: the copy to the served key beside the upload's HEAD, the copy's HEAD beside its ranged GET, then
  // the create-only record write beside the index entry (three sequential round trips, as filegate's confirm).
  app.post('/confirm/*', { schema: { response: { 201: FileRecordSchema } } }, async (request, reply) => {
    const key = (request.params as Record<string, string>)['*'] ?? ''
    const id = key.slice(key.lastIndexOf('/') + 1, key.lastIndexOf('/') + 37)
    const servedKey = `_filegate/served/reference/${id}-${randomBytes(8).toString('hex')}`
    const copySource = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`
    const [copied, upload] = await Promise.all([
      send({ method: 'PUT', key: servedKey, headers: { 'x-amz-copy-source': copySource, 'x-amz-metadata-directive': 'COPY' }, payloadHash: EMPTY_SHA256 }),
      send({ method: 'HEAD', key, headers: {}, payloadHash: EMPTY_SHA256 }),
    ])
    if (copied.status !== 200 || upload.status !== 200) throw failed(copied.status)
    const [head, sample] = await Promise.all([
      send({ method: 'HEAD', key: servedKey, headers: {}, payloadHash: EMPTY_SHA256 }),
      send({ method: 'GET', key: servedKey, headers: { range: `bytes=0-${SNIFF_BYTES - 1}` }, payloadHash: EMPTY_SHA256 }),
    ])
    if (head.status !== 200 || sample.status >= 300) throw failed(head.status)
    const owner = header(head.headers, 'x-amz-meta-uploaded-by')
    const record: FileRecord = {
      id, key, filename: header(head.headers, 'x-amz-meta-filename'), content_type: header(head.headers, 'content-type'),
      size: Number(header(head.headers, 'content-length')), etag: header(head.headers, 'etag').replace(/"/g, ''),
      uploaded_by: owner, is_public: false, metadata: {}, created_at: new Date().toISOString(),
    }
    const body = JSON.stringify(record)
    const [written, indexed] = await Promise.all([
      send({ method: 'PUT', key: recordKeyFor(id), headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'if-none-match': '*' }, payloadHash: sha256Hex(body) }, body),
      send({ method: 'PUT', key: ownerIndexKeyFor(owner, id), headers: { 'content-type': 'application/octet-stream', 'content-length': '0' }, payloadHash: EMPTY_SHA256 }, ''),
    ])
    if (written.status !== 200 || indexed.status !== 200) throw failed(written.status)
    return await reply.code(201).send(record)
  })
  app.addHook('onClose', async () => { client.destroy(); await agent.close() })
}

await app.listen({ host: '127.0.0.1', port })
process.stdout.write('ready\n')
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => { void app.close().then(() => process.exit(0)) })
