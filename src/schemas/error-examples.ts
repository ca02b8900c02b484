// Example error answers for the OpenAPI document: per operation and status, the codes it can answer, with real messages.
import {
  ContentTypeNotAllowedError, FileInfectedError, FileLimitReachedError, FileNotFoundError, FileTooLargeError, InvalidKeyError, KeySetUnavailableError,
  PayloadTooLargeError, RateLimitedError, ScanPendingError, StorageTimeoutError, StorageUnavailableError, UnauthorizedError,
  UnsupportedMediaTypeError, UploadBusyError, UploadCompletedError, UploadIncompleteError, UploadNotFoundError,
  UploadRejectedError, UnknownSigningKeyError, ValidationError,
} from '../errors.js'
import type { ErrorResponse } from './error-response.js'
import { STATUS_CODES } from 'node:http'

interface NamedError { readonly code: string, readonly statusCode?: number | undefined, readonly message: string }

const answer = (error: NamedError): ErrorResponse => {
  const statusCode = error.statusCode ?? 500
  return { statusCode, code: error.code, error: STATUS_CODES[statusCode] ?? 'Error', message: error.message }
}

const validation = new ValidationError('content_type must be a MIME type such as image/png')
const unauthorized = new UnauthorizedError('The token has expired')
const fileNotFound = new FileNotFoundError()
const uploadNotFound = new UploadNotFoundError()

/** What any operation may answer with each status, unless the operation says otherwise below. */
const BY_STATUS: Readonly<Record<number, readonly NamedError[]>> = {
  400: [validation],
  401: [unauthorized, new UnknownSigningKeyError('The token\'s signing key (kid "2026-12-key") is not published at JWT_JWKS_URL')],
  403: [new FileLimitReachedError(1000)],
  404: [fileNotFound],
  409: [new UploadBusyError()],
  410: [new FileInfectedError('Eicar-Test-Signature')],
  413: [new PayloadTooLargeError(16384)],
  415: [new UnsupportedMediaTypeError()],
  422: [new UploadRejectedError('its bytes are text/html, not the declared image/png')],
  429: [new RateLimitedError('42 seconds')],
  503: [new StorageUnavailableError(), new KeySetUnavailableError()],
  504: [new StorageTimeoutError()],
}

/** Operations whose answers for a status differ from the above. */
const BY_OPERATION: Readonly<Record<string, Readonly<Record<number, readonly NamedError[]>>>> = {
  createDownloadUrl: { 409: [new ScanPendingError('The file has not been scanned yet; try again shortly')] },
  createUploadUrl: { 400: [validation, new ContentTypeNotAllowedError('text/html'), new FileTooLargeError(52428800, 10485760)] },
  createMultipartUpload: { 400: [validation, new ContentTypeNotAllowedError('text/html'), new FileTooLargeError(52428800, 10485760)], 404: [uploadNotFound] },
  confirmUpload: { 400: [new InvalidKeyError('uploads/../secret.txt'), validation], 404: [uploadNotFound] },
  signMultipartParts: { 400: [new ValidationError('part 3 is outside 1..2: the upload has 2 parts')], 404: [uploadNotFound] },
  getMultipartUpload: { 404: [uploadNotFound] },
  completeMultipartUpload: { 404: [uploadNotFound], 409: [new UploadIncompleteError('parts 2 and 3 are missing'), new UploadBusyError()] },
  abortMultipartUpload: { 404: [uploadNotFound], 409: [new UploadBusyError(), new UploadCompletedError()] },
  checkHealth: { 400: [new ValidationError('full is not a field of the query')] },
  checkReady: { 400: [new ValidationError('full is not a field of the query')] },
  getServiceIndex: { 400: [new ValidationError('full is not a field of the query')] },
}

/** OpenAPI `examples` for one error response, keyed by code; an empty object when nothing is known. */
export function errorExamples (operationId: string, status: number): Record<string, { summary: string, value: ErrorResponse }> {
  const errors = BY_OPERATION[operationId]?.[status] ?? BY_STATUS[status] ?? []
  return Object.fromEntries(errors.map((error) => [error.code, { summary: error.code, value: answer(error) }]))
}
