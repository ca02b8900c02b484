// buildApp: the whole service, built from a Config, with every plugin and route registered explicitly.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { LoggerOptions } from 'pino'
import type { Config } from './config.js'
import auth from './plugins/auth.js'
import cors from './plugins/cors.js'
import docs from './plugins/docs.js'
import errorHandler from './plugins/error-handler.js'
import storage from './plugins/storage.js'
import uploads from './plugins/uploads.js'
import files from './routes/files.js'
import health from './routes/health.js'
import { FileRecordSchema } from './schemas/file-record.js'

/** JSON bodies are small; file bytes never pass through filegate. */
export const BODY_LIMIT_BYTES = 16 * 1024

export interface AppOptions {
  /** A pino logger, pino options, or false for none; defaults to pino at the configured level. */
  readonly logger?: FastifyBaseLogger | LoggerOptions | false
}

export function loggerOptions (config: Config): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
  }
}

export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? loggerOptions(config)
  const app = Fastify({
    ...(typeof logger === 'object' && 'child' in logger ? { loggerInstance: logger } : { logger }),
    bodyLimit: BODY_LIMIT_BYTES,
    // One log line per request, written when it completes (see the onResponse hook).
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request')
  })

  // Confirm and delete carry no body, and clients often still send Content-Type: application/json.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined)
    else parseJson(request, body.toString(), done)
  })

  app.addSchema(FileRecordSchema)
  await app.register(errorHandler)
  await app.register(cors, { origins: config.corsOrigins })
  await app.register(docs)
  await app.register(storage, { s3: config.s3 })
  await app.register(uploads, { config })
  await app.register(auth, { jwt: config.jwt })
  await app.register(health)
  await app.register(files)
  return app
}
