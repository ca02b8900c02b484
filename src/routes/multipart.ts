// The /files/multipart routes: HTTP only (schemas, auth, status codes); the multipart service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { PER_OWNER_RATE_LIMIT, PER_OWNER_READ_RATE_LIMIT } from '../plugins/rate-limit.js'
import { ErrorRef } from '../schemas/error-response.js'
import { BEARER_SECURITY, COMMON_ERRORS, RecordRef } from '../schemas/route-common.js'
import { IdParamsSchema, ListQuerySchema } from '../schemas/files-api.js'
import {
  CreateMultipartBodySchema, MultipartCreatedSchema, MultipartPageSchema, MultipartStatusSchema, SignedPartsSchema, SignPartsBodySchema,
} from '../schemas/multipart-api.js'

const security = BEARER_SECURITY
const tags = ['multipart']
const commonErrors = COMMON_ERRORS

const multipart: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticateUnlessAnonymous)

  app.post('/files/multipart', {
    config: { rateLimit: PER_OWNER_RATE_LIMIT },
    schema: {
      operationId: 'createMultipartUpload',
      summary: 'Start a large or resumable upload in parts',
      description: 'Creates the S3 multipart upload with the file\'s type, owner and name, and picks the part size (at least 5 MiB, at most 10,000 parts). Then sign parts, PUT them straight to S3, and complete. Over MAX_FILE_SIZE is 400 FILE_TOO_LARGE.',
      tags,
      security,
      body: CreateMultipartBodySchema,
      response: { 201: MultipartCreatedSchema, ...commonErrors, 403: ErrorRef, 413: ErrorRef, 415: ErrorRef, 429: ErrorRef },
    },
  }, async (request, reply) => {
    const { filename, content_type: contentType, size, metadata } = request.body
    return await reply.code(201).send(await app.multipart.create({ owner: request.owner, filename, contentType, size, metadata }))
  })

  app.get('/files/multipart', {
    config: { rateLimit: PER_OWNER_READ_RATE_LIMIT },
    schema: {
      operationId: 'listMultipartUploads',
      summary: 'List my unfinished uploads, newest first',
      description: 'Uploads created and neither completed, aborted nor expired: what a client can resume.',
      tags,
      security,
      querystring: ListQuerySchema,
      response: { 200: MultipartPageSchema, ...commonErrors, 429: ErrorRef },
    },
  }, async (request) => await app.multipart.list(request.owner, request.query))

  app.post('/files/multipart/:id/parts', {
    config: { rateLimit: PER_OWNER_READ_RATE_LIMIT },
    schema: {
      operationId: 'signMultipartParts',
      summary: 'Sign part URLs',
      description: 'Presigned PUT URLs for 1 to 100 parts. Each signs the part\'s exact Content-Length, so S3 refuses a longer or shorter body, and with `md5` its Content-MD5, so S3 refuses other bytes. A number outside 1..part_count is 400 VALIDATION_ERROR; another user\'s, a finished or an unknown upload is 404.',
      tags,
      security,
      params: IdParamsSchema,
      body: SignPartsBodySchema,
      response: { 200: SignedPartsSchema, ...commonErrors, 404: ErrorRef, 413: ErrorRef, 415: ErrorRef, 429: ErrorRef },
    },
  }, async (request) => await app.multipart.signParts(request.owner, request.params.id, request.body.parts))

  app.get('/files/multipart/:id', {
    config: { rateLimit: PER_OWNER_READ_RATE_LIMIT },
    schema: {
      operationId: 'getMultipartUpload',
      summary: 'Show an unfinished upload and the parts S3 holds',
      description: 'For resuming: send the parts that are not listed (or whose size or ETag is not what you would send), then complete.',
      tags,
      security,
      params: IdParamsSchema,
      response: { 200: MultipartStatusSchema, ...commonErrors, 404: ErrorRef, 429: ErrorRef },
    },
  }, async (request) => await app.multipart.get(request.owner, request.params.id))

  app.post('/files/multipart/:id/complete', {
    config: { rateLimit: PER_OWNER_RATE_LIMIT },
    schema: {
      operationId: 'completeMultipartUpload',
      summary: 'Complete an upload and record it',
      description: 'filegate lists the parts S3 holds, checks that parts 1..part_count are all there with their exact sizes, completes the upload, then checks the object as confirm does (owner, limits, name, content, ETag) and records it. 201 the first time, 200 with the same record after. Missing parts: 409 UPLOAD_INCOMPLETE naming them, nothing changed. Parts that do not add up, or an object that fails the checks: aborted or deleted, 422 UPLOAD_REJECTED, nothing recorded. 409 UPLOAD_BUSY: another request is completing or aborting it; retry.',
      tags,
      security,
      params: IdParamsSchema,
      response: { 201: RecordRef, 200: RecordRef, ...commonErrors, 404: ErrorRef, 409: ErrorRef, 422: ErrorRef, 429: ErrorRef },
    },
  }, async (request, reply) => {
    const { created, record } = await app.multipart.complete(request.owner, request.params.id)
    return await reply.code(created ? 201 : 200).send(record)
  })

  app.delete('/files/multipart/:id', {
    schema: {
      operationId: 'abortMultipartUpload',
      summary: 'Abort an unfinished upload',
      description: 'Discards the S3 upload and its parts. 409 UPLOAD_COMPLETED when it was completed meanwhile.',
      tags,
      security,
      params: IdParamsSchema,
      response: { 204: Type.Null({ description: 'Aborted' }), ...commonErrors, 404: ErrorRef, 409: ErrorRef },
    },
  }, async (request, reply) => {
    await app.multipart.abort(request.owner, request.params.id)
    return await reply.code(204).send(null)
  })
}

export default multipart
