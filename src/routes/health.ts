// Liveness and readiness: /health says the process runs, /ready that the bucket answers.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { NEVER_SHED } from '../plugins/load-shedding.js'
import { ScannerUnavailableError } from '../errors.js'
import { ErrorRef } from '../schemas/error-response.js'

/** The checks take no parameters: a probe configured with some is told so (400) rather than silently ignored. */
const NoQuery = Type.Object({}, { additionalProperties: false })

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    logLevel: 'warn',
    config: NEVER_SHED,
    schema: {
      operationId: 'checkHealth',
      summary: 'Liveness',
      description: 'Answers 200 while the process can serve requests, even when it is shedding load; it does not call S3.',
      tags: ['health'],
      security: [],
      querystring: NoQuery,
      response: { 200: Type.Object({ status: Type.Literal('ok') }), 400: ErrorRef },
    },
  }, async () => ({ status: 'ok' as const }))

  app.get('/ready', {
    logLevel: 'warn',
    schema: {
      operationId: 'checkReady',
      summary: 'Readiness',
      description: 'Answers 200 when the bucket can be reached (and clamd answers, with SCANNER=clamav); 503 STORAGE_UNAVAILABLE (or 504 STORAGE_TIMEOUT) or SCANNER_UNAVAILABLE when not, and 503 OVERLOADED with Retry-After while the process sheds load.',
      tags: ['health'],
      security: [],
      querystring: NoQuery,
      response: { 200: Type.Object({ status: Type.Literal('ready') }), 400: ErrorRef, 503: ErrorRef, 504: ErrorRef },
    },
  }, async () => {
    const [scanner] = await Promise.all([app.scanner?.ready(), app.storage.objects.checkBucket()])
    if (scanner === false) throw new ScannerUnavailableError()
    return { status: 'ready' as const }
  })
}

export default health
