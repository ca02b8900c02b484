// GET /: where to go from the address the README names, for a person or a program that opens it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { PACKAGE_VERSION } from '../package-info.js'
import { ErrorRef } from '../schemas/error-response.js'

export interface RootOptions {
  readonly demoPage: boolean
}

const RootSchema = Type.Object({
  name: Type.Literal('filegate'),
  version: Type.String({ description: 'filegate\'s version', examples: ['0.1.0'] }),
  description: Type.String({ description: 'What this service is' }),
  links: Type.Object({
    docs: Type.String({ description: 'Swagger UI', examples: ['/docs'] }),
    openapi: Type.String({ description: 'The OpenAPI document', examples: ['/docs/json'] }),
    demo: Type.Optional(Type.String({ description: 'The example upload page, when DEMO_PAGE is on', examples: ['/demo'] })),
    health: Type.String({ description: 'Liveness', examples: ['/health'] }),
    ready: Type.String({ description: 'Readiness', examples: ['/ready'] }),
  }, { description: 'Paths on this server' }),
}, { description: 'Where to go from here' })

const root: FastifyPluginAsyncTypebox<RootOptions> = async (app, { demoPage }) => {
  const body = {
    name: 'filegate' as const,
    version: PACKAGE_VERSION,
    description: 'Presigned S3 uploads for frontends: ask for a grant, upload straight to S3, confirm. The API is described at /docs.',
    links: { docs: '/docs', openapi: '/docs/json', ...(demoPage && { demo: '/demo' }), health: '/health', ready: '/ready' },
  }
  app.get('/', {
    logLevel: 'warn',
    schema: {
      operationId: 'getServiceIndex',
      summary: 'Where to go from here',
      description: 'Links to Swagger UI (/docs), the OpenAPI document, the example upload page (/demo, when on) and the health checks. No token needed.',
      tags: ['health'],
      security: [],
      querystring: Type.Object({}, { additionalProperties: false }),
      response: { 200: RootSchema, 400: ErrorRef },
    },
  }, async () => body)
}

export default root
