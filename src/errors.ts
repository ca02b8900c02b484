// filegate's named errors: each failure a caller can meet, with a stable code, a status and a message.
import createError from '@fastify/error'

export const ValidationError = createError<'VALIDATION_ERROR', 400, [string]>('VALIDATION_ERROR', '%s', 400)
export const ContentTypeNotAllowedError = createError<'CONTENT_TYPE_NOT_ALLOWED', 400, [string]>('CONTENT_TYPE_NOT_ALLOWED', 'Content type %s is not allowed', 400)
export const FileTooLargeError = createError<'FILE_TOO_LARGE', 400, [number, number]>('FILE_TOO_LARGE', 'The declared size %d exceeds the limit of %d bytes', 400)
export const InvalidKeyError = createError<'INVALID_KEY', 400, [string]>('INVALID_KEY', 'The key is not an upload key issued by filegate: %s', 400)
export const UnauthorizedError = createError<'UNAUTHORIZED', 401, [string]>('UNAUTHORIZED', '%s', 401)
export const FileNotFoundError = createError<'FILE_NOT_FOUND', 404, []>('FILE_NOT_FOUND', 'No file with this id', 404)
export const FileLimitReachedError = createError<'FILE_LIMIT_REACHED', 403, [number]>('FILE_LIMIT_REACHED', 'You already have %d files, the most allowed; delete some before uploading more', 403)
export const UploadNotFoundError = createError<'UPLOAD_NOT_FOUND', 404, []>('UPLOAD_NOT_FOUND', 'No upload exists at this key', 404)
export const RouteNotFoundError = createError<'ROUTE_NOT_FOUND', 404, [string, string]>('ROUTE_NOT_FOUND', 'Route %s %s not found', 404)
export const PayloadTooLargeError = createError<'PAYLOAD_TOO_LARGE', 413, [number]>('PAYLOAD_TOO_LARGE', 'The request body exceeds %d bytes', 413)
export const UnsupportedMediaTypeError = createError<'UNSUPPORTED_MEDIA_TYPE', 415, []>('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json', 415)
export const UploadRejectedError = createError<'UPLOAD_REJECTED', 422, [string]>('UPLOAD_REJECTED', 'The upload was rejected and deleted: %s', 422)
export const RateLimitedError = createError<'RATE_LIMITED', 429, [string]>('RATE_LIMITED', 'Too many requests; retry in %s', 429)
export const StorageUnavailableError = createError<'STORAGE_UNAVAILABLE', 503, []>('STORAGE_UNAVAILABLE', 'The storage service is unavailable, try again later', 503)
export const StorageTimeoutError = createError<'STORAGE_TIMEOUT', 504, []>('STORAGE_TIMEOUT', 'The storage service did not answer in time, try again later', 504)
