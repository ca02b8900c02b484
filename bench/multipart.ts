// The multipart figure: one large upload through filegate's API (create, sign, PUT parts, complete) against the raw SDK's multipart upload of the same bytes.
import { Agent, request } from 'node:http'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3'

export interface MultipartRun {
  /** Wall time from the first request to the answer of the last. */
  readonly seconds: number
  readonly mibPerSecond: number
  readonly partSize: number
}

const MiB = 1024 * 1024

/** Keep-alive connections for the part PUTs, as the SDK's own HTTP handler keeps them; closed by `closeConnections`. */
const agent = new Agent({ keepAlive: true, maxSockets: 16 })

export function closeConnections (): void {
  agent.destroy()
}

/**
 * A PUT of `body` to a presigned URL with node:http, the HTTP stack the SDK uses, so that the figure compares filegate's
 * calls with the SDK's and not two HTTP clients (undici's fetch is slower with large bodies). The status S3 answered.
 */
async function put (url: string, body: Uint8Array): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', agent, headers: { 'content-length': body.length } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Runs `work` on the numbers 1..count with at most `parallel` in flight. */
async function eachPart (count: number, parallel: number, work: (number: number) => Promise<void>): Promise<void> {
  let next = 1
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next <= count) await work(next++)
  }))
}

async function json (response: Response, expected: number, what: string): Promise<unknown> {
  const text = await response.text()
  if (response.status !== expected) throw new Error(`${what} answered ${response.status}: ${text}`)
  return JSON.parse(text)
}

function field (value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined
}

function integer (value: unknown, name: string): number {
  const found = field(value, name)
  if (typeof found !== 'number' || !Number.isInteger(found)) throw new Error(`the answer has no integer ${name}`)
  return found
}

/**
 * What a client of filegate does: POST /files/multipart, one request signing every part (up to 100 at a time), the parts
 * PUT straight to S3 `parallel` at a time, then complete (filegate lists and checks the parts, completes, checks the
 * object and records it). The file is deleted through filegate afterwards (not timed).
 */
export async function uploadThroughFilegate (base: string, token: string, bytes: Uint8Array<ArrayBuffer>, parallel: number): Promise<MultipartRun> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const started = performance.now()
  const created = await json(await fetch(`${base}/files/multipart`, { method: 'POST', headers, body: JSON.stringify({ filename: 'bench.bin', content_type: 'application/octet-stream', size: bytes.length }) }), 201, 'create')
  const id = field(created, 'file_id')
  if (typeof id !== 'string') throw new Error('create answered no file_id')
  const partSize = integer(created, 'part_size')
  const count = integer(created, 'part_count')
  const urls = new Map<number, string>()
  for (let first = 1; first <= count; first += 100) {
    const parts = Array.from({ length: Math.min(100, count - first + 1) }, (_, i) => ({ number: first + i }))
    const signed = field(await json(await fetch(`${base}/files/multipart/${id}/parts`, { method: 'POST', headers, body: JSON.stringify({ parts }) }), 200, 'signing'), 'parts')
    if (!Array.isArray(signed)) throw new Error('signing answered no parts')
    for (const part of signed) {
      const url = field(part, 'url')
      if (typeof url !== 'string') throw new Error('a signed part has no url')
      urls.set(integer(part, 'number'), url)
    }
  }
  await eachPart(count, parallel, async (number) => {
    const body = bytes.subarray((number - 1) * partSize, Math.min(number * partSize, bytes.length))
    const status = await put(urls.get(number) ?? '', body)
    if (status !== 200) throw new Error(`S3 answered ${status} to part ${number}`)
  })
  await json(await fetch(`${base}/files/multipart/${id}/complete`, { method: 'POST', headers: { authorization: headers.authorization } }), 201, 'complete')
  const seconds = (performance.now() - started) / 1000
  const deleted = await fetch(`${base}/files/${id}`, { method: 'DELETE', headers: { authorization: headers.authorization } })
  if (deleted.status !== 204) throw new Error(`DELETE answered ${deleted.status}`)
  return { seconds, mibPerSecond: bytes.length / MiB / seconds, partSize }
}

/** The same bytes, part size and concurrency with the AWS SDK's own calls and S3's own keys; the object is deleted afterwards (not timed). */
export async function uploadWithSdk (client: S3Client, bucket: string, bytes: Uint8Array<ArrayBuffer>, partSize: number, parallel: number): Promise<MultipartRun> {
  const key = `bench/raw-${Date.now()}.bin`
  const started = performance.now()
  const { UploadId: uploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }))
  if (uploadId === undefined) throw new Error('CreateMultipartUpload answered no upload id')
  const count = Math.ceil(bytes.length / partSize)
  const etags: string[] = []
  try {
    await eachPart(count, parallel, async (number) => {
      const body = bytes.subarray((number - 1) * partSize, Math.min(number * partSize, bytes.length))
      const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: body, ContentLength: body.length }))
      etags[number - 1] = out.ETag ?? ''
    })
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }))
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined)
    throw error
  }
  const seconds = (performance.now() - started) / 1000
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  return { seconds, mibPerSecond: bytes.length / MiB / seconds, partSize }
}
