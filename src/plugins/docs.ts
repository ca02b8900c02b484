// API documentation: the OpenAPI document built from the route schemas, and Swagger UI at /docs.
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import Type from 'typebox'
import { Value } from 'typebox/value'
import type { Config } from '../config.js'
import { PACKAGE_VERSION } from '../package-info.js'
import { errorExamples } from '../schemas/error-examples.js'
import { WEBHOOKS } from '../schemas/webhook-events.js'

const DESCRIPTION = `Presigned S3 uploads for frontends. An upload takes three steps:

1. **POST /files/upload-url** returns a grant: an S3 URL and form fields.
2. **POST the file to S3**: a multipart form to the grant's \`url\` with every field first and the file last (field name \`file\`). S3 enforces the size, type, key and owner. *This step goes to S3, not to filegate, so it cannot be done from this page*: use the example upload page at [/demo](/demo) (when it is on), the browser client, or the code in the README.
3. **POST /files/confirm/{key}** checks the object and records it.

Then **GET /files/download/{id}** gives a short-lived download URL. Click **Authorize** and paste a token first (\`npm start\` prints one in development). Errors share one shape: \`{ statusCode, code, error, message }\`; each error response below shows the codes that route can answer.`

const ErrorContent = Type.Object({ schema: Type.Object({ $ref: Type.Literal('#/components/schemas/ErrorResponse') }) }, { additionalProperties: true })
const Operation = Type.Object({
  operationId: Type.String(),
  responses: Type.Record(Type.String(), Type.Object({ content: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, { additionalProperties: true })),
}, { additionalProperties: true })

/** Adds real example answers to every JSON error response, so Swagger UI shows codes the route can answer, not a made-up one. */
function addErrorExamples (document: { paths?: Record<string, Record<string, unknown> | undefined> }): void {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      if (!Value.Check(Operation, operation)) continue
      for (const [status, response] of Object.entries(operation.responses)) {
        const json = response.content?.['application/json']
        if (Number(status) < 400 || !Value.Check(ErrorContent, json)) continue
        const examples = errorExamples(operation.operationId, Number(status))
        if (Object.keys(examples).length > 0) Object.assign(json, { examples })
      }
    }
  }
}

export interface DocsOptions {
  readonly docs: Config['docs']
}

export default fp(async function docs (app: FastifyInstance, { docs }: DocsOptions) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'filegate',
        version: PACKAGE_VERSION,
        description: DESCRIPTION,
        license: { name: 'Proprietary: a private package, no license granted', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: '/', description: 'The filegate that serves this document' }],
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
    // Confirm takes the rest of the path as the key: documented as a named parameter, which clients URL-encode.
    transform: ({ schema, url }) => url === '/files/confirm/*'
      ? { schema: { ...schema, params: Type.Object({ key: Type.String({ description: 'The key from the upload grant, URL-encoded (or as path segments)', examples: ['uploads/2026/12/02/0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b.pdf'] }) }) }, url: '/files/confirm/:key' }
      : { schema, url },
    transformObject: (documentObject) => {
      const document = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject
      addErrorExamples(document as { paths?: Record<string, Record<string, unknown>> })
      return document
    },
  })
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // A persisted token sits in localStorage, where any script on this origin reads it, past the tab's life: opt-in only.
    uiConfig: { persistAuthorization: docs.persistAuthorization, tryItOutEnabled: true },
    theme: { title: 'filegate API' },
  })
}, { name: 'docs' })
