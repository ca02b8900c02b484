// API documentation: the OpenAPI document built from the route schemas, and Swagger UI at /docs.
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PACKAGE_VERSION } from '../package-info.js'
import { WEBHOOKS } from '../schemas/webhook-events.js'

export default fp(async function docs (app: FastifyInstance) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'filegate',
        version: PACKAGE_VERSION,
        description: 'Presigned S3 uploads for frontends. Ask for a grant (POST /files/upload-url), POST the file straight to S3 with every field first and the file last, then confirm (POST /files/confirm/{key}). Errors share one shape: { statusCode, code, error, message }.',
      },
      tags: [
        { name: 'files', description: 'Uploads, downloads and records; every route needs a Bearer JWT' },
        { name: 'multipart', description: 'Large and resumable uploads in parts straight to S3 (up to 5 TiB), checked and recorded as a POST upload is' },
        { name: 'multipart (S3 protocol)', description: 'The multipart calls an S3 client such as Uppy\'s @uppy/aws-s3 makes itself, answered in S3\'s XML (see docs/multipart.md)' },
        { name: 'health', description: 'Liveness and readiness, no token needed' },
        { name: 'events', description: 'What filegate sends to WEBHOOK_URLS for every change to a file (see docs/events.md)' },
      ],
      webhooks: WEBHOOKS,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT whose owner claim (sub by default) owns the files. `npm run token -- <subject>` prints one in development.' } },
      },
    },
    // Keep the names of shared schemas (ErrorResponse, FileRecord) instead of def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true, tryItOutEnabled: true } })
}, { name: 'docs' })
