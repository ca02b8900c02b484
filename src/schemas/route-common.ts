// What the schemas of authenticated routes share: the bearer requirement, the record by reference, and the error answers every route can give.
import Type from 'typebox'
import { ErrorRef } from './error-response.js'

export const BEARER_SECURITY = [{ bearerAuth: [] }]
export const RecordRef = Type.Ref('FileRecord')
/** A bad request, a bad token, and S3 unavailable or too slow. */
export const COMMON_ERRORS = { 400: ErrorRef, 401: ErrorRef, 503: ErrorRef, 504: ErrorRef }
