// The error handler: turns every failure into the shared error shape; a 5xx never shows internals.
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { PayloadTooLargeError, RouteNotFoundError, UnsupportedMediaTypeError, ValidationError } from '../errors.js'
import { ErrorResponseSchema, type ErrorResponse } from '../schemas/error-response.js'
import { validationMessage } from '../validation-messages.js'

/** Codes filegate defines itself; their messages are written for callers and safe to show. */
const OWN_CODES = new Set([
  'VALIDATION_ERROR', 'CONTENT_TYPE_NOT_ALLOWED', 'FILE_TOO_LARGE', 'INVALID_KEY', 'UNAUTHORIZED', 'UNKNOWN_SIGNING_KEY', 'OWNER_TOO_LONG', 'FILE_NOT_FOUND',
  'UPLOAD_NOT_FOUND', 'ROUTE_NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'UPLOAD_REJECTED', 'RATE_LIMITED',
  'FILE_LIMIT_REACHED', 'UPLOAD_INCOMPLETE', 'UPLOAD_BUSY', 'UPLOAD_COMPLETED',
  'SCAN_PENDING', 'FILE_INFECTED', 'VARIANT_NOT_FOUND',
  'STORAGE_UNAVAILABLE', 'STORAGE_TIMEOUT', 'SCANNER_UNAVAILABLE', 'OVERLOADED', 'KEY_SET_UNAVAILABLE',
])
/** 5xx answers not logged per request: a shed request (there would be a line for each), and a key set down (logged once per outage). */
const UNLOGGED_CODES = new Set(['OVERLOADED', 'KEY_SET_UNAVAILABLE'])

function shape (statusCode: number, code: string, message: string): ErrorResponse {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

/** Maps Fastify's own request errors (bad JSON, body limits, media types) onto filegate's codes. */
function fromFramework (error: FastifyError, bodyLimit: number): FastifyError | undefined {
  if (error.validation !== undefined) return new ValidationError(validationMessage(error.validation, error.validationContext ?? 'request'))
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new PayloadTooLargeError(bodyLimit)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new UnsupportedMediaTypeError()
    default: break
  }
  const status = error.statusCode ?? 500
  if (status === 400 || status === 413 || status === 415) return new ValidationError(status === 400 ? error.message : 'The request body was not acceptable')
  return undefined
}

/**
 * The shared error shape for any failure, logged as its kind deserves: filegate's own 4xx as they are, its 5xx with their
 * cause, other 4xx with a generic message, anything else as a 500 logged with its stack. Routes that answer in another
 * format (the S3-style XML routes) send the same answer in their own dress.
 */
export function errorAnswer (raw: FastifyError, request: FastifyRequest, bodyLimit: number): ErrorResponse {
  const error = OWN_CODES.has(raw.code) ? raw : fromFramework(raw, bodyLimit) ?? raw
  const status = error.statusCode ?? 500
  if (OWN_CODES.has(error.code) && (status < 500 || UNLOGGED_CODES.has(error.code))) return shape(status, error.code, error.message)
  if (OWN_CODES.has(error.code)) {
    request.log.warn({ err: error.cause ?? error, code: error.code }, error.code === 'SCANNER_UNAVAILABLE' ? 'clamd does not answer' : 'storage call failed')
    return shape(status, error.code, error.message)
  }
  if (status < 500) {
    request.log.info({ err: error }, 'request refused')
    return shape(status, 'BAD_REQUEST', 'The request could not be processed')
  }
  request.log.error({ err: error }, 'unexpected error')
  return shape(500, 'INTERNAL_ERROR', 'Something went wrong on our side; it has been logged')
}

export default fp(async function errorHandler (app: FastifyInstance) {
  app.addSchema(ErrorResponseSchema)

  app.setNotFoundHandler(async (request, reply) => {
    const error = new RouteNotFoundError(request.method, request.url.split('?')[0] ?? '')
    return await reply.code(404).send(shape(404, error.code, error.message))
  })

  app.setErrorHandler(async (raw: FastifyError, request, reply) => {
    const body = errorAnswer(raw, request, app.initialConfig.bodyLimit ?? 0)
    return await reply.code(body.statusCode).send(body)
  })
}, { name: 'error-handler' })
