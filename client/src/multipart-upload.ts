// A multipart upload: resumed from what the server holds or created, parts hashed, signed in batches and sent in parallel with retries, then completed.
import { isRetryableApiError } from './api.js'
import { readCreated, readRecord, readSignedParts, readStatus, type FileRecord, type MultipartCreated, type SignedPart, type StoredPart } from './answers.js'
import { backoffDelay, sleep, withRetries } from './backoff.js'
import { throwIfAborted, UploadError } from './errors.js'
import type { Md5 } from './md5.js'
import type { UploadContext } from './options.js'
import { ProgressTracker } from './progress.js'
import { storageErrorOf, transfer } from './transfer.js'

/** Parts signed in one request at most (filegate's limit). */
const SIGN_BATCH = 100

export async function multipartUpload (file: Blob, context: UploadContext, fingerprint: string): Promise<FileRecord> {
  const found = await resume(file, context, fingerprint)
  if ('record' in found) return found.record
  const { upload, held } = found.upload !== undefined ? found : { upload: await create(file, context, fingerprint), held: new Map<number, StoredPart>() }
  try {
    await sendParts(file, upload, held, context)
    context.stage('completing')
    const record = await withRetries(async () => await context.api.call('POST', `/files/multipart/${upload.file_id}/complete`, readRecord, undefined, context.signal), {
      retries: context.retries, signal: context.signal, retryable: isRetryableApiError,
    })
    context.resume.delete(fingerprint)
    return record
  } catch (error) {
    if (error instanceof UploadError && error.kind === 'aborted' && context.discardOnAbort) {
      context.resume.delete(fingerprint)
      // Without the aborted signal: this request must still go out.
      await context.api.call('DELETE', `/files/multipart/${upload.file_id}`, () => undefined).catch(() => undefined)
    }
    // Anything else leaves the upload to resume: choosing the same file again continues it.
    throw error
  }
}

type Found = { readonly record: FileRecord } | { readonly upload: MultipartCreated, readonly held: Map<number, StoredPart> } | { readonly upload?: undefined }

/** The upload this file was being sent to, as the server knows it; local state is only where to look. */
async function resume (file: Blob, context: UploadContext, fingerprint: string): Promise<Found> {
  const id = context.resume.get(fingerprint)
  if (id === undefined) return {}
  context.stage('resuming')
  const { api, signal } = context
  try {
    const status = await api.call('GET', `/files/multipart/${encodeURIComponent(id)}`, readStatus, undefined, signal)
    if (status.size === file.size && status.filename === context.filename) return { upload: status, held: new Map(status.parts.map((p) => [p.number, p])) }
  } catch (error) {
    if (!(error instanceof UploadError) || error.status !== 404) throw error
    // No longer unfinished: perhaps completed just before the page went away.
    const record = await api.call('GET', `/files/${encodeURIComponent(id)}`, readRecord, undefined, signal).catch((failure: unknown) => {
      if (failure instanceof UploadError && failure.status === 404) return undefined
      throw failure
    })
    if (record !== undefined && record.size === file.size && record.filename === context.filename) {
      context.resume.delete(fingerprint)
      return { record }
    }
  }
  context.resume.delete(fingerprint)
  return {}
}

async function create (file: Blob, context: UploadContext, fingerprint: string): Promise<MultipartCreated> {
  context.stage('granting')
  const request = {
    filename: context.filename,
    size: file.size,
    ...(context.contentType !== undefined && context.contentType !== '' && { content_type: context.contentType }),
    ...(context.metadata !== undefined && { metadata: context.metadata }),
  }
  const created = await context.api.call('POST', '/files/multipart', readCreated, request, context.signal)
  context.resume.set(fingerprint, created.file_id)
  return created
}

/**
 * Part URLs, signed in batches: the requests of every part that asks in the same turn go out together. Each attempt at
 * a part asks anew (its MD5 may have changed), so an expired URL is never reused.
 */
function createSigner (upload: MultipartCreated, context: UploadContext) {
  let waiting: Array<{ number: number, md5: string | undefined, resolve: (part: SignedPart) => void, reject: (error: unknown) => void }> = []
  let scheduled = false

  async function flush (): Promise<void> {
    scheduled = false
    const batch = waiting.slice(0, SIGN_BATCH)
    waiting = waiting.slice(SIGN_BATCH)
    if (waiting.length > 0) schedule()
    try {
      const parts = batch.map(({ number, md5 }) => ({ number, ...(md5 !== undefined && { md5 }) }))
      const signed = await withRetries(async () => await context.api.call('POST', `/files/multipart/${upload.file_id}/parts`, readSignedParts, { parts }, context.signal), {
        retries: context.retries, signal: context.signal, retryable: isRetryableApiError,
      })
      for (const request of batch) {
        const part = signed.parts.find((p) => p.number === request.number)
        if (part === undefined) request.reject(new UploadError(`filegate did not sign part ${request.number}`, 'api', { code: 'UNEXPECTED_ANSWER' }))
        else request.resolve(part)
      }
    } catch (error) {
      for (const request of batch) request.reject(error)
    }
  }

  function schedule (): void {
    if (scheduled) return
    scheduled = true
    setTimeout(() => { void flush() }, 0)
  }

  return async (number: number, md5: string | undefined): Promise<SignedPart> =>
    await new Promise((resolve, reject) => {
      waiting.push({ number, md5, resolve, reject })
      schedule()
    })
}

/** Sends every part S3 does not hold (or holds with other bytes), `parallel` at a time; the first failure stops the rest. */
async function sendParts (file: Blob, upload: MultipartCreated, held: ReadonlyMap<number, StoredPart>, context: UploadContext): Promise<void> {
  context.stage('uploading')
  const progress = new ProgressTracker(file.size, context.onProgress)
  const sign = createSigner(upload, context)
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  context.signal?.addEventListener('abort', onAbort, { once: true })
  const queue = Array.from({ length: upload.part_count }, (_, i) => i + 1)

  async function sendPart (number: number): Promise<void> {
    const start = (number - 1) * upload.part_size
    const blob = file.slice(start, Math.min(start + upload.part_size, file.size))
    let md5: Md5 | undefined = context.checksums ? await context.hasher.digest(blob) : undefined
    const stored = held.get(number)
    // A part the server holds is kept when its size (and, with checksums and a plain-MD5 ETag, its bytes) are this file's.
    if (stored !== undefined && stored.size === blob.size && (md5 === undefined || !/^[0-9a-f]{32}$/.test(stored.etag) || stored.etag === md5.hex)) {
      progress.finish(number, blob.size)
      return
    }
    for (let attempt = 0; ; attempt++) {
      const signed = await sign(number, md5?.base64)
      const answer = await transfer('PUT', signed.url, blob, signed.headers, (loaded) => progress.sending(number, loaded), stop.signal)
      if (answer.status === 200) {
        progress.finish(number, blob.size)
        return
      }
      const { code, message } = storageErrorOf(answer)
      // No answer, the store's 5xx, throttling, an expired URL (403: signed again) or bytes changed in transit (BadDigest: read again).
      const retryable = answer.status === 0 || answer.status >= 500 || answer.status === 408 || answer.status === 429 || answer.status === 403 || code === 'BadDigest'
      if (!retryable || attempt >= context.retries) {
        throw new UploadError(`S3 refused part ${number}: ${message || code || (answer.status === 0 ? 'no answer (network failure, or an error without CORS headers)' : `HTTP ${answer.status}`)}`, 'storage', { status: answer.status, code })
      }
      await sleep(backoffDelay(attempt + 1), stop.signal)
      if (code === 'BadDigest' && context.checksums) md5 = await context.hasher.digest(blob)
    }
  }

  async function slot (): Promise<void> {
    for (let number = queue.shift(); number !== undefined; number = queue.shift()) {
      throwIfAborted(stop.signal)
      await sendPart(number)
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(context.parallel, upload.part_count) }, async () => {
      try {
        await slot()
      } catch (error) {
        stop.abort()
        throw error
      }
    }))
  } finally {
    context.signal?.removeEventListener('abort', onAbort)
  }
}
