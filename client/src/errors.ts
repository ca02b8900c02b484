// The one error the client throws: what failed (filegate's API, the store, the network, or an abort), with the codes to act on.

/** `api`: filegate refused (code is its error code); `storage`: S3 refused (code is S3's, when the browser may read it); `network`: nothing answered; `aborted`: the caller's signal. */
export type UploadErrorKind = 'api' | 'storage' | 'network' | 'aborted'

export interface UploadErrorDetails {
  /** The HTTP status, 0 when there was no answer (or the browser hid it: S3 errors often come without CORS headers). */
  readonly status?: number
  /** filegate's error code (`FILE_TOO_LARGE`…) or S3's (`EntityTooLarge`, `BadDigest`…); '' when unknown. */
  readonly code?: string
  /** For a refused POST upload: the largest body its grant allowed. */
  readonly maxSize?: number
  /** For a refused POST upload: when its grant expired (ms since the epoch). */
  readonly expiresAt?: number
}

export class UploadError extends Error {
  override name = 'UploadError'
  readonly status: number
  readonly code: string
  readonly maxSize: number | undefined
  readonly expiresAt: number | undefined

  constructor (message: string, readonly kind: UploadErrorKind, details: UploadErrorDetails = {}) {
    super(message)
    this.status = details.status ?? 0
    this.code = details.code ?? ''
    this.maxSize = details.maxSize
    this.expiresAt = details.expiresAt
  }
}

export const abortError = (): UploadError => new UploadError('The upload was aborted', 'aborted', { code: 'ABORTED' })

export function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError()
}
