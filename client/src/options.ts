// The options of upload(), with their defaults, and what the two ways of uploading share.
import type { FilegateApi, TokenSource } from './api.js'
import type { Md5Hasher } from './md5.js'
import type { Progress } from './progress.js'
import type { ResumeStore } from './resume-store.js'

/** What the upload is doing, for a status line. */
export type UploadStage = 'hashing' | 'granting' | 'resuming' | 'uploading' | 'completing' | 'confirming'

export interface UploadOptions {
  /** Where filegate answers, e.g. `https://files.example.com`; '' (the default) for this page's own origin. */
  readonly api?: string
  /** The Bearer token, or a function returning the current one. */
  readonly token: TokenSource
  /** The name to record; the file's own by default. */
  readonly filename?: string
  /** The type to record; the file's own by default, or inferred by filegate from the name. */
  readonly contentType?: string
  /** Up to 10 string entries kept with the file. */
  readonly metadata?: Readonly<Record<string, string>>
  /** Files larger than this go in parts (resumable, parallel); smaller ones in one POST. Default 32 MiB. */
  readonly multipartThreshold?: number
  /** Parts sent at once. Default 4. */
  readonly parallel?: number
  /** Retries of each request after a network failure or a 5xx, with backoff (0.5 s doubling to 10 s). Default 8. */
  readonly retries?: number
  /** Compute MD5s so that S3 refuses corrupted bytes (part URLs sign Content-MD5; a POST declares it). Default true. */
  readonly checksums?: boolean
  /** POST uploads only: declare the size, so S3 takes exactly that many bytes. Default true. */
  readonly declareSize?: boolean
  /** Where resume state is kept across page loads; null for nowhere. Default localStorage. */
  readonly storage?: Storage | null
  /** On abort, also discard the unfinished upload on the server (default); false keeps it to resume later. */
  readonly discardOnAbort?: boolean
  /** The MD5 worker's URL; null hashes on the page. Default: filegate-md5-worker.js beside this module. */
  readonly workerUrl?: string | URL | null
  readonly signal?: AbortSignal
  /** Called as bytes go out; `loaded` never decreases. */
  readonly onProgress?: (progress: Progress) => void
  readonly onStage?: (stage: UploadStage) => void
}

/** The options with their defaults applied, and the helpers built from them. */
export interface UploadContext {
  readonly api: FilegateApi
  readonly filename: string
  readonly contentType: string | undefined
  readonly metadata: Readonly<Record<string, string>> | undefined
  readonly parallel: number
  readonly retries: number
  readonly checksums: boolean
  readonly declareSize: boolean
  readonly discardOnAbort: boolean
  readonly resume: ResumeStore
  readonly hasher: Md5Hasher
  readonly signal: AbortSignal | undefined
  readonly onProgress: ((progress: Progress) => void) | undefined
  readonly stage: (stage: UploadStage) => void
}

export const DEFAULT_MULTIPART_THRESHOLD = 32 * 1024 * 1024
