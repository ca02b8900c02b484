// The /files routes: HTTP only (schemas, auth, status codes); the upload service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { DOWNLOAD_RATE_LIMIT, FILE_READ_RATE_LIMIT, PER_OWNER_RATE_LIMIT } from '../plugins/rate-limit.js'
import { ErrorRef } from '../schemas/error-response.js'
import { BEARER_SECURITY, COMMON_ERRORS, RecordRef } from '../schemas/route-common.js'
import {
  BatchDownloadBodySchema, BatchDownloadGrantSchema, ConfirmParamsSchema, DownloadGrantSchema, DownloadQuerySchema, FileListQuerySchema,
  FilePageSchema, IdParamsSchema, SharingBodySchema, UploadGrantSchema, UploadUrlBodySchema,
} from '../schemas/files-api.js'

const security = BEARER_SECURITY
const commonErrors = COMMON_ERRORS

const files: FastifyPluginAsyncTypebox = async (app) => {
  // Every route needs a valid token, except that a download may come without one (public files only).
  app.addHook('onRequest', app.authenticateUnlessAnonymous)

  app.post('/files/upload-url', {
    config: { rateLimit: PER_OWNER_RATE_LIMIT },
    schema: {
      operationId: 'createUploadUrl',
      summary: 'Get a presigned POST for one upload',
      description: 'Returns a URL and form fields. POST a multipart form to the URL with every field first and the file last (field name `file`); S3 enforces the size, type, key and owner. Then confirm the key.',
      tags: ['files'],
      security,
      body: UploadUrlBodySchema,
      response: { 200: UploadGrantSchema, ...commonErrors, 403: ErrorRef, 413: ErrorRef, 415: ErrorRef, 429: ErrorRef },
    },
  }, async (request) => {
    const { filename, content_type: contentType, size, md5, metadata } = request.body
    return await app.uploads.createUploadUrl({ owner: request.owner, filename, contentType, size, md5, metadata })
  })

  app.post('/files/confirm/*', {
    config: { rateLimit: PER_OWNER_RATE_LIMIT },
    schema: {
      operationId: 'confirmUpload',
      summary: 'Confirm an upload and record it',
      description: 'Checks that the object exists, belongs to the caller and meets the limits, then records it. 201 the first time, 200 with the same record after. A violating upload is deleted and answered 422.',
      tags: ['files'],
      security,
      params: ConfirmParamsSchema,
      response: { 201: RecordRef, 200: RecordRef, ...commonErrors, 404: ErrorRef, 422: ErrorRef, 429: ErrorRef },
    },
  }, async (request, reply) => {
    const { created, record } = await app.uploads.confirmUpload(request.owner, request.params['*'])
    return await reply.code(created ? 201 : 200).send(record)
  })

  app.get('/files/download/:id', {
    config: { allowAnonymous: true, rateLimit: DOWNLOAD_RATE_LIMIT },
    schema: {
      operationId: 'createDownloadUrl',
      summary: 'Get a short-lived download URL',
      description: 'A presigned GET whose Content-Disposition carries the original name. `redirect=true` answers 302 to it. The owner may download any of their files; a public file (`is_public`) needs no token, and any caller gets it. A private or missing file is 404 either way; a token that is sent must be valid (401 otherwise).',
      tags: ['files'],
      security: [{ bearerAuth: [] }, {}],
      params: IdParamsSchema,
      querystring: DownloadQuerySchema,
      response: { 200: DownloadGrantSchema, 302: Type.Null({ description: 'Location holds the download URL' }), ...commonErrors, 404: ErrorRef, 409: ErrorRef, 410: ErrorRef, 429: ErrorRef },
    },
  }, async (request, reply) => {
    const { filename, disposition, expires_in: expiresIn, redirect, variant } = request.query
    const owner = request.owner === '' ? undefined : request.owner
    const grant = await app.uploads.createDownloadUrl({ owner, id: request.params.id, filename, disposition, expiresIn, variant })
    if (redirect === true) return await reply.redirect(grant.download_url, 302)
    return grant
  })

  app.post('/files/download-urls', {
    config: { rateLimit: FILE_READ_RATE_LIMIT },
    schema: {
      operationId: 'createDownloadUrls',
      summary: 'Get download URLs for many of my files at once',
      description: 'Up to 100 ids in one request (a gallery, a product list): one record read per id, in parallel, then a presigned GET for each of the caller\'s files that is served. Ids of missing, deleted and other users\' files are listed under `not_found` alike (a shared file of someone else\'s is downloaded one at a time with GET /files/download/{id}); the caller\'s files that a scan holds back are under `unavailable`. Counts as one read against the caller\'s read budget.',
      tags: ['files'],
      security,
      body: BatchDownloadBodySchema,
      response: { 200: BatchDownloadGrantSchema, ...commonErrors, 413: ErrorRef, 415: ErrorRef, 429: ErrorRef },
    },
  }, async (request) => {
    const { ids, disposition, expires_in: expiresIn } = request.body
    return await app.uploads.createDownloadUrls({ owner: request.owner, ids, disposition, expiresIn })
  })

  app.get('/files', {
    config: { rateLimit: FILE_READ_RATE_LIMIT },
    schema: {
      operationId: 'listFiles',
      summary: 'List my files, newest first',
      description: '`with=download_url` adds a download URL to each listed file that is served, at no extra S3 call.',
      tags: ['files'],
      security,
      querystring: FileListQuerySchema,
      response: { 200: FilePageSchema, ...commonErrors, 429: ErrorRef },
    },
  }, async (request) => {
    const { limit, cursor, with: extra } = request.query
    return await app.uploads.listFiles(request.owner, { limit, cursor, withDownloadUrls: extra === 'download_url' })
  })

  app.get('/files/:id', {
    config: { rateLimit: FILE_READ_RATE_LIMIT },
    schema: {
      operationId: 'getFile',
      summary: 'Get one file record',
      tags: ['files'],
      security,
      params: IdParamsSchema,
      response: { 200: RecordRef, ...commonErrors, 404: ErrorRef, 429: ErrorRef },
    },
  }, async (request) => {
    return await app.uploads.getFile(request.owner, request.params.id)
  })

  app.patch('/files/:id', {
    schema: {
      operationId: 'setPublic',
      summary: 'Share or unshare a file',
      description: 'Sets `is_public`. A public file\'s download URL (GET /files/download/{id}) is available to anyone with its id, without a token; its record, listing, sharing and deletion stay the owner\'s. Another user\'s file answers 404.',
      tags: ['files'],
      security,
      params: IdParamsSchema,
      body: SharingBodySchema,
      response: { 200: RecordRef, ...commonErrors, 404: ErrorRef, 413: ErrorRef, 415: ErrorRef },
    },
  }, async (request) => {
    return await app.uploads.setPublic(request.owner, request.params.id, request.body.is_public)
  })

  app.delete('/files/:id', {
    schema: {
      operationId: 'deleteFile',
      summary: 'Delete a file',
      description: 'Takes the file off the list and replaces its record with a tombstone (so no confirm in flight can record it again; cleanup removes it later), then deletes the object: no failure leaves a record pointing at a deleted object. Repeating a DELETE that failed half-way finishes it (204); one for a file already deleted is 404.',
      tags: ['files'],
      security,
      params: IdParamsSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), ...commonErrors, 404: ErrorRef },
    },
  }, async (request, reply) => {
    await app.uploads.deleteFile(request.owner, request.params.id)
    return await reply.code(204).send(null)
  })
}

export default files
