// S3-protocol routes for S3 clients (Uppy's @uppy/aws-s3): its create, list, complete calls answered in S3's XML by the multipart service.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError } from 'fastify'
import Type from 'typebox'
import { completeResultXml, errorXml, initiateResultXml, listPartsResultXml } from '../multipart/s3-xml.js'
import { errorAnswer } from '../plugins/error-handler.js'
import { PER_OWNER_RATE_LIMIT, PER_OWNER_READ_RATE_LIMIT } from '../plugins/rate-limit.js'
import { IdParamsSchema } from '../schemas/files-api.js'

const security = [{ bearerAuth: [] }]
const tags = ['multipart (S3 protocol)']
/** A complete's body lists every part (about 100 bytes each, up to 10,000); filegate lists the parts itself and reads none of it. */
const COMPLETE_BODY_LIMIT = 2 * 1024 * 1024
const XML = 'application/xml'

const xml = (description: string) => ({ description, content: { [XML]: { schema: Type.String({ description }) } } })
const xmlError = xml('S3\'s `<Error>` with filegate\'s `Code` and `Message` (see ErrorResponse)')
const xmlErrors = { 400: xmlError, 401: xmlError, 404: xmlError, 503: xmlError, 504: xmlError }

const multipartS3: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticateUnlessAnonymous)
  // S3 clients send the file's own type with the create call and XML with the complete call; neither body is read.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: COMPLETE_BODY_LIMIT }, (_request, _body, done) => { done(null, undefined) })
  app.setErrorHandler(async (raw: FastifyError, request, reply) => {
    const body = errorAnswer(raw, request, COMPLETE_BODY_LIMIT)
    return await reply.code(body.statusCode).type(XML).send(errorXml(body))
  })

  app.post('/files/multipart/:id/s3/initiate', {
    config: { rateLimit: PER_OWNER_READ_RATE_LIMIT },
    schema: {
      operationId: 'initiateMultipartUploadS3',
      summary: 'CreateMultipartUpload\'s answer, for S3 clients',
      description: 'For an upload created with POST /files/multipart: S3\'s InitiateMultipartUploadResult, whose UploadId is the file id, so that an S3 client (Uppy) sends it back with each later call. Its body, if any, is not read.',
      tags,
      security,
      params: IdParamsSchema,
      response: { 200: xml('InitiateMultipartUploadResult'), ...xmlErrors, 429: xmlError },
    },
  }, async (request, reply) => {
    const status = await app.multipart.get(request.owner, request.params.id)
    return await reply.type(XML).send(initiateResultXml(status.key, status.file_id))
  })

  app.get('/files/multipart/:id/s3/parts', {
    config: { rateLimit: PER_OWNER_READ_RATE_LIMIT },
    schema: {
      operationId: 'listMultipartPartsS3',
      summary: 'ListParts, for S3 clients',
      description: 'S3\'s ListPartsResult: every part S3 holds, in one page, for an S3 client resuming an upload.',
      tags,
      security,
      params: IdParamsSchema,
      response: { 200: xml('ListPartsResult'), ...xmlErrors, 429: xmlError },
    },
  }, async (request, reply) => {
    const status = await app.multipart.get(request.owner, request.params.id)
    return await reply.type(XML).send(listPartsResultXml(status.key, status.file_id, status.parts))
  })

  app.post('/files/multipart/:id/s3/complete', {
    bodyLimit: COMPLETE_BODY_LIMIT,
    config: { rateLimit: PER_OWNER_RATE_LIMIT },
    schema: {
      operationId: 'completeMultipartUploadS3',
      summary: 'CompleteMultipartUpload, for S3 clients',
      description: 'Exactly POST /files/multipart/{id}/complete (filegate lists and checks the parts itself; the part list in the body is not read), answered with S3\'s CompleteMultipartUploadResult, whose Location is the file\'s record, or S3\'s `<Error>` with filegate\'s code (UPLOAD_INCOMPLETE, UPLOAD_REJECTED, UPLOAD_BUSY…).',
      tags,
      security,
      params: IdParamsSchema,
      response: { 200: xml('CompleteMultipartUploadResult'), ...xmlErrors, 409: xmlError, 413: xmlError, 422: xmlError, 429: xmlError },
    },
  }, async (request, reply) => {
    const { record } = await app.multipart.complete(request.owner, request.params.id)
    const location = `${request.protocol}://${request.host}/files/${record.id}`
    return await reply.type(XML).send(completeResultXml(location, record.key, record.etag))
  })
}

export default multipartS3
