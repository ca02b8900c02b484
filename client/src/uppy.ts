// Uppy 6 through filegate: options for @uppy/aws-s3 whose signRequest asks filegate, so that uploads keep filegate's checks, multipart included.
import { planParts } from '../../src/multipart/part-plan.js'
import { createApi, isRetryableApiError, type TokenSource } from './api.js'
import { readCreated, readGrant, readSignedParts, readStatus, type MultipartCreated } from './answers.js'
import { withRetries } from './backoff.js'
import { UploadError } from './errors.js'

/** The few fields of an Uppy file the adapter reads (Uppy's own UppyFile has them). */
export interface UppyFileLike {
  readonly name?: string | undefined
  readonly type?: string | undefined
  readonly size: number | null
}

export interface FilegateUppyOptions {
  /** Where filegate answers; '' for this page's own origin. */
  readonly api?: string
  readonly token: TokenSource
  /** Uppy's file by id: pass `(id) => uppy.getFile(id)`. */
  readonly getFile: (id: string) => UppyFileLike | undefined
  /** Parts signed per request to filegate, ahead of Uppy asking (Uppy sends a file's parts one after another). Default 20. */
  readonly signAhead?: number
}

/** What @uppy/aws-s3 6 asks its `signRequest` to sign (its PresignableRequest). */
export interface UppySignRequest {
  readonly method: 'PUT' | 'POST' | 'GET' | 'DELETE'
  readonly key: string
  readonly uploadId?: string
  readonly partNumber?: number
  readonly contentType?: string
}

/** What `signRequest` answers (its PresignedResponse). */
export interface UppySigned {
  readonly url: string
  readonly key?: string
  readonly headers?: Record<string, string>
  readonly fields?: Record<string, string>
}

/**
 * Spread into @uppy/aws-s3's options: `uppy.use(AwsS3, filegateUppy({ api, token, getFile: (id) => uppy.getFile(id) }))`.
 * Files up to 100 MiB (Uppy's default) go as a filegate POST grant; larger ones as a filegate multipart upload: filegate
 * creates it (owner, name, type), Uppy PUTs each part to S3 with a URL filegate signed for its exact length, and Uppy's
 * create, list and complete calls go to filegate's S3-protocol routes, which answer in S3's XML. filegate's complete lists
 * and checks the parts itself and records the file; a POST upload is confirmed on `upload-success` as usual (see
 * docs/multipart.md). `getChunkSize` is filegate's part plan, so Uppy cuts the file as filegate signs it.
 */
export function filegateUppy ({ api: base = '', token, getFile, signAhead = 20 }: FilegateUppyOptions) {
  const api = createApi({ api: base, token })
  /** Signed part URLs not yet asked for, by upload and part number. */
  const ahead = new Map<string, { url: string, headers: Record<string, string>, expiresAt: number }>()
  const partCounts = new Map<string, number>()
  const call = async <T>(method: 'GET' | 'POST', path: string, read: (answer: unknown) => T, body?: unknown): Promise<T> =>
    await withRetries(async () => await api.call(method, path, read, body), { retries: 3, retryable: isRetryableApiError })
  const authorized = async (url: string): Promise<UppySigned> => ({ url, headers: { authorization: await api.authorization() } })
  const fileOf = (key: string): UppyFileLike => {
    const file = getFile(key)
    if (file === undefined) throw new UploadError(`Uppy has no file ${key}: set generateObjectKey to the file id, as filegateUppy does`, 'api')
    return file
  }
  const requestFor = (file: UppyFileLike) => ({
    filename: file.name ?? 'upload',
    ...(file.type !== undefined && file.type !== '' && { content_type: file.type }),
    ...(file.size !== null && { size: file.size }),
  })

  async function signPart (uploadId: string, partNumber: number): Promise<UppySigned> {
    const cached = ahead.get(`${uploadId}/${partNumber}`)
    ahead.delete(`${uploadId}/${partNumber}`)
    if (cached !== undefined && cached.expiresAt > Date.now() + 60_000) return { url: cached.url, headers: cached.headers }
    let count = partCounts.get(uploadId)
    if (count === undefined) {
      // A resumed upload (Uppy's Golden Retriever): its part count is the server's.
      count = (await call('GET', `/files/multipart/${uploadId}`, readStatus)).part_count
      partCounts.set(uploadId, count)
    }
    const numbers = Array.from({ length: Math.min(signAhead, count - partNumber + 1) }, (_, i) => ({ number: partNumber + i }))
    const signed = await call('POST', `/files/multipart/${uploadId}/parts`, readSignedParts, { parts: numbers })
    const expiresAt = Date.now() + signed.expires_in * 1000
    for (const part of signed.parts) ahead.set(`${uploadId}/${part.number}`, { url: part.url, headers: { ...part.headers }, expiresAt })
    const mine = ahead.get(`${uploadId}/${partNumber}`)
    ahead.delete(`${uploadId}/${partNumber}`)
    if (mine === undefined) throw new UploadError(`filegate did not sign part ${partNumber}`, 'api', { code: 'UNEXPECTED_ANSWER' })
    return { url: mine.url, headers: mine.headers }
  }

  return {
    /** The Uppy file id, so that signRequest can find the file's name, type and size. */
    generateObjectKey: (file: { readonly id: string }): string => file.id,
    /** filegate's part plan; a file it would plan otherwise is refused at create. */
    getChunkSize: (file: { readonly size: number }): number => planParts(Math.max(1, file.size)).partSize,
    async signRequest (request: UppySignRequest): Promise<UppySigned> {
      const { method, key, uploadId, partNumber } = request
      const id = uploadId === undefined ? undefined : encodeURIComponent(uploadId)
      if (method === 'PUT' && id === undefined) {
        // One POST upload: Uppy posts the grant's fields and the file to its URL.
        const grant = await call('POST', '/files/upload-url', readGrant, requestFor(fileOf(key)))
        return { url: grant.url, fields: { ...grant.fields } }
      }
      if (method === 'POST' && id === undefined) {
        const file = fileOf(key)
        const created: MultipartCreated = await call('POST', '/files/multipart', readCreated, requestFor(file))
        if (file.size !== null && created.part_size !== planParts(file.size).partSize) {
          throw new UploadError(`filegate cuts this file into parts of ${created.part_size} bytes, not the ${planParts(file.size).partSize} Uppy would send`, 'api', { code: 'PART_SIZE_MISMATCH' })
        }
        partCounts.set(created.file_id, created.part_count)
        return { ...await authorized(`${api.base}/files/multipart/${created.file_id}/s3/initiate`), key: created.key }
      }
      if (id === undefined) throw new UploadError(`filegate signs no ${method} of a whole object`, 'api')
      if (method === 'PUT' && partNumber !== undefined) return await signPart(id, partNumber)
      if (method === 'GET') return await authorized(`${api.base}/files/multipart/${id}/s3/parts`)
      if (method === 'POST') return await authorized(`${api.base}/files/multipart/${id}/s3/complete`)
      return await authorized(`${api.base}/files/multipart/${id}`)
    },
  }
}
