// filegate's browser client: upload(file, options) sends a file straight to S3 through filegate, in one POST or in resumable parts.
import { createApi } from './api.js'
import type { FileRecord } from './answers.js'
import { createMd5Hasher } from './md5.js'
import { multipartUpload } from './multipart-upload.js'
import { DEFAULT_MULTIPART_THRESHOLD, type UploadContext, type UploadOptions } from './options.js'
import { postUpload } from './post-upload.js'
import { createResumeStore, fingerprintOf } from './resume-store.js'

export type { FileRecord } from './answers.js'
export type { TokenSource } from './api.js'
export { UploadError, type UploadErrorKind } from './errors.js'
export type { UploadOptions, UploadStage } from './options.js'
export type { Progress } from './progress.js'
export { filegateUppy, type FilegateUppyOptions } from './uppy.js'

/** The MD5 worker file that `npm run build` writes beside this module. */
const WORKER_FILE = 'filegate-md5-worker.js'

/**
 * Uploads `file` and resolves with filegate's record of it. Files up to `multipartThreshold` (32 MiB) go in one POST;
 * larger ones in parts, `parallel` (4) at a time, each retried with backoff, with MD5s computed in a worker, and
 * resumable: choosing the same file again after a reload or a failure sends only the parts S3 does not hold.
 * Throws an UploadError; `signal` aborts (and, unless `discardOnAbort` is false, discards the unfinished upload).
 */
export async function upload (file: Blob & { readonly name?: string, readonly lastModified?: number }, options: UploadOptions): Promise<FileRecord> {
  const filename = options.filename ?? file.name ?? 'upload'
  const contentType = options.contentType ?? (file.type === '' ? undefined : file.type)
  const api = createApi({ api: options.api ?? '', token: options.token })
  const threshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD
  const multipart = file.size > threshold
  const parallel = Math.max(1, Math.floor(options.parallel ?? 4))
  const workerUrl = options.workerUrl === undefined ? new URL(WORKER_FILE, import.meta.url) : options.workerUrl
  const cores = typeof navigator === 'undefined' ? 2 : navigator.hardwareConcurrency
  const hasher = createMd5Hasher(workerUrl, multipart ? Math.max(1, Math.min(parallel, cores - 1, 2)) : 1)
  const context: UploadContext = {
    api,
    filename,
    contentType,
    metadata: options.metadata,
    parallel,
    retries: Math.max(0, Math.floor(options.retries ?? 8)),
    checksums: options.checksums ?? true,
    declareSize: options.declareSize ?? true,
    discardOnAbort: options.discardOnAbort ?? true,
    resume: createResumeStore(options.storage === undefined ? (typeof localStorage === 'undefined' ? null : localStorage) : options.storage),
    hasher,
    signal: options.signal,
    onProgress: options.onProgress,
    stage: (stage) => options.onStage?.(stage),
  }
  try {
    if (!multipart) return await postUpload(file, context)
    return await multipartUpload(file, context, fingerprintOf(api.base, file, filename, contentType ?? ''))
  } finally {
    hasher.close()
  }
}
