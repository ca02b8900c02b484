// How S3 answers are classified, for the SDK's exceptions and the lean client's alike, and turned into filegate's errors.
import { S3ServiceException } from '@aws-sdk/client-s3'
import { StorageTimeoutError, StorageUnavailableError } from '../errors.js'
import { S3ResponseError } from './s3-http.js'

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED'])
/** A store that refuses filegate itself: a missing bucket or keys it does not accept (HEAD answers have no code: Forbidden). */
const MISCONFIGURED = new Set(['NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'Forbidden', 'InvalidToken', 'ExpiredToken'])

function errorCode (error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/** The HTTP status of an S3 error answer (from the SDK or the lean client); undefined for anything else. */
export function s3Status (error: unknown): number | undefined {
  if (error instanceof S3ResponseError) return error.statusCode
  if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode ?? 500
  return undefined
}

/** S3 refused filegate's keys: 401 or 403 (the SDK names a body-less HEAD 403 `Unknown`, so the status decides). */
const refused = (error: unknown): boolean => s3Status(error) === 401 || s3Status(error) === 403

/** Turns an S3 or network failure into STORAGE_TIMEOUT or STORAGE_UNAVAILABLE; anything else is returned as it is. */
export function toStorageError (error: unknown): unknown {
  if (error instanceof StorageTimeoutError || error instanceof StorageUnavailableError) return error
  const name = error instanceof Error ? error.name : ''
  let translated: Error | undefined
  if (name === 'TimeoutError' || name === 'AbortError' || name === 'RequestTimeout' || errorCode(error) === 'ETIMEDOUT') {
    translated = new StorageTimeoutError()
  } else if (NETWORK_CODES.has(errorCode(error) ?? '') || (s3Status(error) !== undefined && MISCONFIGURED.has(name)) || refused(error) || (s3Status(error) ?? 0) >= 500) {
    translated = new StorageUnavailableError()
  }
  if (translated === undefined) return error
  translated.cause = error
  return translated
}

const named = (error: unknown, ...names: string[]) => error instanceof Error && names.includes(error.name)

export function isNotFound (error: unknown): boolean {
  return s3Status(error) === 404 || (s3Status(error) !== undefined && named(error, 'NoSuchKey', 'NotFound'))
}

export function isPreconditionFailed (error: unknown): boolean {
  return s3Status(error) === 412 || (s3Status(error) !== undefined && named(error, 'PreconditionFailed'))
}

export function isConditionalConflict (error: unknown): boolean {
  return s3Status(error) === 409 || (s3Status(error) !== undefined && named(error, 'ConditionalRequestConflict'))
}

/** The store's 5xx: Ceph RGW 16 answers 500 InternalError to a CompleteMultipartUpload of an aborted upload. */
export function isServerError (error: unknown): boolean {
  return (s3Status(error) ?? 0) >= 500
}

/** An empty object has no byte 0: S3 answers 416 to a ranged GET. */
export function isInvalidRange (error: unknown): boolean {
  return s3Status(error) === 416 || (s3Status(error) !== undefined && named(error, 'InvalidRange'))
}

/** A call the store lacks (the embedded store, s3rver, has no ListMultipartUploads): 501, also inside a translated error. */
export function isNotImplemented (error: unknown): boolean {
  const answer = error instanceof Error && error.cause !== undefined ? error.cause : error
  return s3Status(answer) === 501 || (s3Status(answer) !== undefined && named(answer, 'NotImplemented'))
}
