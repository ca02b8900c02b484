// One POST upload: a grant (with the declared size and MD5), the form straight to S3 with progress, then confirm.
import { isRetryableApiError } from './api.js'
import { readGrant, readRecord, type FileRecord, type PostGrant } from './answers.js'
import { withRetries } from './backoff.js'
import { UploadError } from './errors.js'
import type { UploadContext } from './options.js'
import { ProgressTracker } from './progress.js'
import { storageErrorOf, transfer } from './transfer.js'

export async function postUpload (file: Blob, context: UploadContext): Promise<FileRecord> {
  const { api, signal } = context
  let md5: string | undefined
  if (context.checksums) {
    context.stage('hashing')
    md5 = (await context.hasher.digest(file)).base64
  }
  context.stage('granting')
  const request = {
    filename: context.filename,
    ...(context.contentType !== undefined && context.contentType !== '' && { content_type: context.contentType }),
    ...(context.declareSize && { size: file.size }),
    ...(md5 !== undefined && { md5 }),
    ...(context.metadata !== undefined && { metadata: context.metadata }),
  }
  const grant = await withRetries(async () => await api.call('POST', '/files/upload-url', readGrant, request, signal), { retries: context.retries, signal, retryable: isRetryableApiError })
  const expiresAt = Date.now() + grant.expires_in * 1000

  context.stage('uploading')
  const progress = new ProgressTracker(file.size, context.onProgress)
  await withRetries(async () => await postForm(grant, file, progress, expiresAt, signal), {
    retries: context.retries,
    signal,
    // No answer may be a dropped connection worth retrying, unless the file is over the grant's size (S3 surely refused it).
    retryable: (error) => error instanceof UploadError && (error.status >= 500 || (error.status === 0 && file.size <= grant.max_size && Date.now() < expiresAt)),
  })
  progress.finish(1, file.size)

  context.stage('confirming')
  const path = grant.key.split('/').map(encodeURIComponent).join('/')
  return await withRetries(async () => await api.call('POST', `/files/confirm/${path}`, readRecord, undefined, signal), { retries: context.retries, signal, retryable: isRetryableApiError })
}

/** Every field first, the file last: S3 ignores fields after the file. */
async function postForm (grant: PostGrant, file: Blob, progress: ProgressTracker, expiresAt: number, signal: AbortSignal | undefined): Promise<void> {
  const form = new FormData()
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value)
  form.append('file', file)
  // The form adds a few hundred bytes around the file: progress is scaled to the file.
  const envelope = 1024
  const answer = await transfer('POST', grant.url, form, {}, (loaded) => progress.sending(1, Math.min(file.size, loaded * file.size / (file.size + envelope))), signal)
  if (answer.status >= 200 && answer.status < 300) return
  const { code, message } = storageErrorOf(answer)
  throw new UploadError(message || (answer.status === 0 ? 'S3 refused the upload, or the network failed' : `S3 answered ${answer.status}`), 'storage', {
    status: answer.status, code, maxSize: grant.max_size, expiresAt,
  })
}
