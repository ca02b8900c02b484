// The S3 module: builds the clients once, and is the one place SDK errors become filegate's errors.
import { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3'
import type { Config } from '../config.js'
import { StorageUnavailableError, ValidationError } from '../errors.js'
import { leanObjectCalls } from './lean-object-store.js'
import { isConditionalConflict, isInvalidRange, isNotFound, isPreconditionFailed, isServerError, s3Status, toStorageError } from './s3-errors.js'
import { createS3Http, type S3Http } from './s3-http.js'

export interface S3Clients {
  readonly bucket: string
  /** For filegate's own calls. */
  readonly internal: S3Client
  /** For signing URLs that browsers use; the same client unless S3_PUBLIC_ENDPOINT differs. */
  readonly public: S3Client
  readonly timeoutMs: number
  /** The lean client for the hot object calls (S3_CLIENT=lean); undefined when the SDK makes every call. */
  readonly http: S3Http | undefined
}

export function createS3Clients (s3: Config['s3']): S3Clients {
  const build = (endpoint: string | undefined) => new S3Client({
    region: s3.region,
    ...(endpoint !== undefined && { endpoint }),
    forcePathStyle: s3.forcePathStyle,
    ...(s3.credentials !== undefined && { credentials: s3.credentials }),
    maxAttempts: 3,
    // Many S3-compatible stores (Ceph 16, older MinIO) reject the SDK's default streaming checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: s3.timeoutMs, requestTimeout: s3.timeoutMs },
  })
  const internal = build(s3.endpoint)
  const publicClient = s3.publicEndpoint !== undefined && s3.publicEndpoint !== s3.endpoint ? build(s3.publicEndpoint) : internal
  const http = s3.client === 'lean' ? createS3Http({ client: internal, bucket: s3.bucket, timeoutMs: s3.timeoutMs }) : undefined
  return { bucket: s3.bucket, internal, public: publicClient, timeoutMs: s3.timeoutMs, http }
}

export function destroyS3Clients (clients: S3Clients): void {
  clients.http?.destroy()
  clients.internal.destroy()
  if (clients.public !== clients.internal) clients.public.destroy()
}

export { toStorageError } from './s3-errors.js'

export interface ObjectHead {
  readonly size: number
  readonly contentType: string
  readonly etag: string
  readonly lastModified: Date
  /** User metadata without the `x-amz-meta-` prefix, keys lowercase. */
  readonly metadata: Readonly<Record<string, string>>
}

export interface ListedObject { readonly key: string, readonly lastModified: Date }

export interface ObjectPage { readonly objects: readonly ListedObject[], readonly nextToken: string | undefined }

/** A part S3 holds for a multipart upload; `etag` without quotes. */
export interface StoredPart { readonly number: number, readonly size: number, readonly etag: string }

export interface UnfinishedUpload { readonly key: string, readonly uploadId: string, readonly initiated: Date }

export interface UnfinishedUploadPage {
  readonly uploads: readonly UnfinishedUpload[]
  /** Where the next page starts; undefined on the last page. */
  readonly next: { readonly keyMarker: string, readonly uploadIdMarker: string } | undefined
}

/** The object operations filegate needs, each bounded by S3_TIMEOUT_MS and translated into filegate's errors. */
export interface ObjectStore {
  head (key: string): Promise<ObjectHead | undefined>
  getText (key: string): Promise<string | undefined>
  /** The text and ETag of one object, read together so a later conditional write can name the version it read. */
  getTextAndEtag (key: string): Promise<{ readonly text: string, readonly etag: string } | undefined>
  /** At most the first `bytes` bytes (a ranged GET), and the ETag of the version they came from. */
  getRange (key: string, bytes: number): Promise<{ readonly bytes: Uint8Array, readonly etag: string } | undefined>
  /**
   * Overwrites an object only while its ETag is still `ifMatch` (sent exactly as given: stores differ on quoting).
   * 'changed' means it was changed or deleted since; the write did not happen.
   */
  replace (key: string, body: string, options: { contentType: string, ifMatch: string }): Promise<'replaced' | 'changed'>
  /** `createOnly` sends If-None-Match: *; the answer says whether the object was created or already there. */
  put (key: string, body: string, options: { contentType: string, createOnly?: boolean }): Promise<'created' | 'exists'>
  /**
   * A server-side copy of `source` to `target`, with its type and user metadata; undefined when there is no source.
   * One request up to 5 GiB (S3's limit for a single copy, and a POST's).
   */
  copy (source: string, target: string): Promise<{ readonly etag: string } | undefined>
  delete (key: string): Promise<void>
  /**
   * Deletes up to 1,000 objects in one request (S3 DeleteObjects, quiet mode); the keys S3 reported it could not delete
   * (a key already gone counts as deleted). Throws when the request itself fails.
   */
  deleteMany (keys: readonly string[]): Promise<string[]>
  /**
   * The object's bytes as a stream, for long reads (scans): the deadline covers the answer's start, then the socket
   * timeout (S3_TIMEOUT_MS of silence) bounds the body. Undefined when there is no object.
   */
  getStream (key: string): Promise<{ readonly body: AsyncIterable<Uint8Array>, readonly size: number } | undefined>
  /** Writes bytes (a variant). */
  putBytes (key: string, body: Uint8Array, options: { contentType: string }): Promise<void>
  list (prefix: string, options: { maxKeys: number, continuationToken?: string | undefined, startAfter?: string | undefined }): Promise<ObjectPage>
  checkBucket (): Promise<void>
  /** Starts a multipart upload of `key` with the object's type and user metadata (keys without `x-amz-meta-`); the upload id. */
  createMultipartUpload (key: string, options: { contentType: string, metadata: Readonly<Record<string, string>> }): Promise<string>
  /** Every part S3 holds (all pages), by number; undefined when the upload is gone (completed or aborted). */
  listParts (key: string, uploadId: string): Promise<StoredPart[] | undefined>
  /** Assembles the parts; 'gone' when the upload no longer exists (completed or aborted meanwhile). */
  completeMultipartUpload (key: string, uploadId: string, parts: ReadonlyArray<Pick<StoredPart, 'number' | 'etag'>>): Promise<'completed' | 'gone'>
  /** Discards the upload and its parts; 'gone' when it no longer exists (completed or aborted meanwhile). */
  abortMultipartUpload (key: string, uploadId: string): Promise<'aborted' | 'gone'>
  /** One page of the unfinished multipart uploads under `prefix`, in key order. */
  listMultipartUploads (prefix: string, options: { maxUploads: number, from?: UnfinishedUploadPage['next'] }): Promise<UnfinishedUploadPage>
}

/** S3 and MinIO say NoSuchUpload for an upload that was completed or aborted; Ceph RGW says NoSuchKey to ListParts. */
const isUploadGone = isNotFound

/** The deadline of one server-side copy (S3 copies 5 GiB in well under a minute; AWS may answer 200 only once done). */
const COPY_TIMEOUT_MS = 300_000

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '')

/** The object store: the lean client's calls where it is on (they fall back to these where it cannot sign), the SDK's for the rest. */
export function createObjectStore (clients: S3Clients): ObjectStore {
  const sdk = createSdkObjectStore(clients)
  return clients.http === undefined ? sdk : { ...sdk, ...leanObjectCalls(clients.http, sdk, clients) }
}

function createSdkObjectStore (clients: S3Clients): ObjectStore {
  const { internal: client, bucket, timeoutMs } = clients
  // One deadline for the whole call, retries included, so a stalled store answers 504 in bounded time.
  const options = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) })
  const fail = (error: unknown): never => { throw toStorageError(error) }

  return {
    async head (key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), options())
        return {
          size: out.ContentLength ?? 0,
          contentType: out.ContentType ?? '',
          etag: (out.ETag ?? '').replace(/"/g, ''),
          lastModified: out.LastModified ?? new Date(0),
          metadata: Object.fromEntries(Object.entries(out.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        }
      } catch (error) {
        if (isNotFound(error)) return undefined
        return fail(error)
      }
    },
    async getText (key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), options())
        return await out.Body?.transformToString('utf8') ?? ''
      } catch (error) {
        if (isNotFound(error)) return undefined
        return fail(error)
      }
    },
    async getTextAndEtag (key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), options())
        return { text: await out.Body?.transformToString('utf8') ?? '', etag: (out.ETag ?? '').replace(/"/g, '') }
      } catch (error) {
        if (isNotFound(error)) return undefined
        return fail(error)
      }
    },
    async getRange (key, bytes) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${bytes - 1}` }), options())
        const etag = (out.ETag ?? '').replace(/"/g, '')
        const body = out.Body
        if (!(body instanceof Readable)) return { bytes: (await body?.transformToByteArray() ?? new Uint8Array()).subarray(0, bytes), etag }
        // A store that ignores Range sends the whole object: stop reading once there is enough.
        const chunks: Buffer[] = []
        let length = 0
        for await (const chunk of body) {
          const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
          chunks.push(buffer)
          length += buffer.length
          if (length >= bytes) break
        }
        return { bytes: new Uint8Array(Buffer.concat(chunks).subarray(0, bytes)), etag }
      } catch (error) {
        if (isNotFound(error)) return undefined
        // An empty object has no byte 0: S3 answers 416.
        if (isInvalidRange(error)) return { bytes: new Uint8Array(), etag: '' }
        return fail(error)
      }
    },
    async replace (key, body, { contentType, ifMatch }) {
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: Buffer.byteLength(body), ContentType: contentType, IfMatch: ifMatch }), options())
        return 'replaced'
      } catch (error) {
        // AWS answers 404 when the object is gone, 412 when it changed, 409 when another conditional write is in flight.
        if (isPreconditionFailed(error) || isNotFound(error) || isConditionalConflict(error)) return 'changed'
        return fail(error)
      }
    },
    async put (key, body, { contentType, createOnly = false }) {
      // AWS answers 409 ConditionalRequestConflict to a create-only PUT racing another one in flight, and asks for a retry.
      for (let attempt = 1; ; attempt++) {
        try {
          await client.send(new PutObjectCommand({
            Bucket: bucket, Key: key, Body: body, ContentLength: Buffer.byteLength(body), ContentType: contentType, ...(createOnly && { IfNoneMatch: '*' }),
          }), options())
          return 'created'
        } catch (error) {
          if (createOnly && isPreconditionFailed(error)) return 'exists'
          if (createOnly && isConditionalConflict(error) && attempt < 3) continue
          return fail(error)
        }
      }
    },
    async copy (source, target) {
      try {
        const copySource = `${bucket}/${source.split('/').map(encodeURIComponent).join('/')}`
        // A copy of up to 5 GiB takes its time on AWS; a stalled store is caught by the HEAD that confirm sends beside it.
        const out = await client.send(new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: copySource, MetadataDirective: 'COPY' }), { abortSignal: AbortSignal.timeout(Math.max(timeoutMs, COPY_TIMEOUT_MS)) })
        return { etag: unquote(out.CopyObjectResult?.ETag) }
      } catch (error) {
        if (isNotFound(error)) return undefined
        return fail(error)
      }
    },
    async getStream (key) {
      const started = new AbortController()
      const timer = setTimeout(() => started.abort(new Error('S3 did not start answering in time')), timeoutMs)
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: started.signal })
        const body = out.Body
        if (!(body instanceof Readable)) throw new Error('GetObject answered no stream')
        return { body, size: out.ContentLength ?? 0 }
      } catch (error) {
        if (isNotFound(error)) return undefined
        return fail(error)
      } finally {
        clearTimeout(timer)
      }
    },
    async putBytes (key, body, { contentType }) {
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentType: contentType }), options())
      } catch (error) {
        fail(error)
      }
    },
    async delete (key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), options())
      } catch (error) {
        if (isNotFound(error)) return
        fail(error)
      }
    },
    async deleteMany (keys) {
      if (keys.length === 0) return []
      if (keys.length > 1000) throw new RangeError('DeleteObjects takes at most 1000 keys')
      try {
        const out = await client.send(new DeleteObjectsCommand({
          Bucket: bucket, Delete: { Objects: keys.map((key) => ({ Key: key })), Quiet: true },
        }), options())
        return (out.Errors ?? []).flatMap((e) => e.Key === undefined || e.Code === 'NoSuchKey' ? [] : [e.Key])
      } catch (error) {
        return fail(error)
      }
    },
    async list (prefix, { maxKeys, continuationToken, startAfter }) {
      try {
        const out = await client.send(new ListObjectsV2Command({
          Bucket: bucket, Prefix: prefix, MaxKeys: maxKeys, ContinuationToken: continuationToken, StartAfter: startAfter,
        }), options())
        const objects = (out.Contents ?? []).flatMap((o) => o.Key === undefined ? [] : [{ key: o.Key, lastModified: o.LastModified ?? new Date(0) }])
        return { objects, nextToken: out.IsTruncated === true ? out.NextContinuationToken : undefined }
      } catch (error) {
        // A continuation token the store did not issue (a forged cursor) is the caller's mistake, not a broken store.
        if (continuationToken !== undefined && s3Status(error) === 400) {
          throw new ValidationError('cursor is not one that GET /files returned')
        }
        return fail(error)
      }
    },
    async checkBucket () {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }), options())
      } catch (error) {
        const translated = toStorageError(error)
        // A missing or forbidden bucket is a store that cannot serve us, whatever the SDK called it.
        if (translated === error) throw Object.assign(new StorageUnavailableError(), { cause: error })
        throw translated
      }
    },
    ...multipartCalls(client, bucket, options, fail),
  }
}

type MultipartCalls = Pick<ObjectStore, 'createMultipartUpload' | 'listParts' | 'completeMultipartUpload' | 'abortMultipartUpload' | 'listMultipartUploads'>

/** The multipart upload calls, with the same deadline and error translation as the other object calls. */
function multipartCalls (client: S3Client, bucket: string, options: () => { abortSignal: AbortSignal }, fail: (error: unknown) => never): MultipartCalls {
  async function listParts (key: string, uploadId: string): Promise<StoredPart[] | undefined> {
    const parts: StoredPart[] = []
    let marker: string | undefined
    try {
      do {
        const out = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker, MaxParts: 1000 }), options())
        for (const part of out.Parts ?? []) {
          if (part.PartNumber !== undefined) parts.push({ number: part.PartNumber, size: part.Size ?? 0, etag: unquote(part.ETag) })
        }
        marker = out.IsTruncated === true ? out.NextPartNumberMarker : undefined
      } while (marker !== undefined)
    } catch (error) {
      if (isUploadGone(error)) return undefined
      return fail(error)
    }
    return parts.sort((a, b) => a.number - b.number)
  }

  return {
    async createMultipartUpload (key, { contentType, metadata }) {
      try {
        const out = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, Metadata: { ...metadata } }), options())
        if (out.UploadId === undefined || out.UploadId === '') throw new Error('CreateMultipartUpload answered no upload id')
        return out.UploadId
      } catch (error) {
        return fail(error)
      }
    },
    listParts,
    async completeMultipartUpload (key, uploadId, parts) {
      try {
        await client.send(new CompleteMultipartUploadCommand({
          Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: `"${p.etag}"` })) },
        }), options())
        return 'completed'
      } catch (error) {
        if (isUploadGone(error)) return 'gone'
        // A store that fails instead of saying NoSuchUpload: whether the upload still exists tells what happened.
        if (isServerError(error) && await listParts(key, uploadId) === undefined) return 'gone'
        return fail(error)
      }
    },
    async abortMultipartUpload (key, uploadId) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), options())
        return 'aborted'
      } catch (error) {
        if (isUploadGone(error)) return 'gone'
        return fail(error)
      }
    },
    async listMultipartUploads (prefix, { maxUploads, from }) {
      try {
        const out = await client.send(new ListMultipartUploadsCommand({
          Bucket: bucket, Prefix: prefix, MaxUploads: maxUploads, KeyMarker: from?.keyMarker, UploadIdMarker: from?.uploadIdMarker,
        }), options())
        const uploads = (out.Uploads ?? []).flatMap((u) => u.Key === undefined || u.UploadId === undefined ? [] : [{ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) }])
        const next = out.IsTruncated === true && out.NextKeyMarker !== undefined ? { keyMarker: out.NextKeyMarker, uploadIdMarker: out.NextUploadIdMarker ?? '' } : undefined
        return { uploads, next }
      } catch (error) {
        return fail(error)
      }
    },
  }
}
