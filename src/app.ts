// buildApp: the whole service, built from a Config, with every plugin and route registered explicitly.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { LoggerOptions } from 'pino'
import type { Config } from './config.js'
import { createLogScrubber, REDACT_PATHS } from './log-redaction.js'
import { lazyRequestLogger } from './request-logger.js'
import auth from './plugins/auth.js'
import cleanup from './plugins/cleanup.js'
import cors from './plugins/cors.js'
import docs from './plugins/docs.js'
import errorHandler from './plugins/error-handler.js'
import events from './plugins/events.js'
import loadShedding from './plugins/load-shedding.js'
import scanning from './plugins/scanning.js'
import metrics from './plugins/metrics.js'
import multipart from './plugins/multipart.js'
import optionalAuth from './plugins/optional-auth.js'
import rateLimit from './plugins/rate-limit.js'
import redis from './plugins/redis.js'
import securityHeaders from './plugins/security-headers.js'
import storage from './plugins/storage.js'
import uploads from './plugins/uploads.js'
import demo from './routes/demo.js'
import files from './routes/files.js'
import multipartRoutes from './routes/multipart.js'
import multipartS3Routes from './routes/multipart-s3.js'
import health from './routes/health.js'
import root from './routes/root.js'
import { FileRecordSchema } from './schemas/file-record.js'
import { ListedFileSchema } from './schemas/files-api.js'
import { createOwnerCheck } from './uploads/owner-limits.js'

/** pino's level numbers, to tell whether a request logger writes info lines. */
const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }
const INFO = 30

/** JSON bodies are small; file bytes never pass through filegate. */
export const BODY_LIMIT_BYTES = 16 * 1024

export interface AppOptions {
  /** A pino logger, pino options, or false for none; defaults to pino at the configured level. */
  readonly logger?: FastifyBaseLogger | LoggerOptions | false
  /** Signs a development token for the demo page to pre-fill (server.ts passes one only with the development secret). */
  readonly developmentToken?: () => string
}

/** The password in REDIS_URL, if any, which no log line may show. */
function redisPassword (url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  const password = URL.canParse(url) ? decodeURIComponent(new URL(url).password) : ''
  return password === '' ? undefined : password
}

/** TRUST_PROXY for Fastify: a hop count becomes the function proxy-addr makes of one (trust the nearest n hops). */
function trustProxyOption (trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust
  return typeof trust === 'boolean' ? trust : [...trust]
}

export function loggerOptions (config: Config): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    // A last pass over every line: tokens, signatures, policies and the keys themselves, wherever they ended up.
    hooks: { streamWrite: createLogScrubber([config.s3.credentials?.secretAccessKey, config.s3.credentials?.sessionToken, config.s3.credentials?.accessKeyId, ...config.jwt.secrets, redisPassword(config.redis.url)]) },
  }
}

export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? loggerOptions(config)
  const app = Fastify({
    ...(typeof logger === 'object' && 'child' in logger ? { loggerInstance: logger } : { logger }),
    bodyLimit: BODY_LIMIT_BYTES,
    // One log line per request, written when it completes (see the onResponse hook).
    logController: new LogController({ disableRequestLogging: true }),
    // So a request that logs nothing else costs no pino child (see request-logger.ts).
    childLoggerFactory: lazyRequestLogger,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    // On close: idle keep-alive connections are closed at once, and a request arriving on a busy one is answered 503.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Whether X-Forwarded-For names the client (request.ip), which per-address limits count by.
    trustProxy: trustProxyOption(config.trustProxy),
    // verbose: each validation error carries the schema it broke, so its message can say what the field takes.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, verbose: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // The line is the one request.log would write, byte for byte: the same bindings, reqId first. Its fields are
  // primitives that no redaction path can match, so it skips pino's redaction, which re-parses every path for every
  // field of a line (a third of a request's logging cost), and keeps the scrubbing pass every line gets.
  const completionLog = app.log.child({}, { redact: [] })
  app.addHook('onResponse', (request, reply, done) => {
    // request.log carries the route's own level (the health checks log at warn).
    if ((LEVEL_VALUES[request.log.level] ?? Number.POSITIVE_INFINITY) <= INFO) {
      completionLog.info({ reqId: request.id, method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request')
    }
    done()
  })

  // Once closing, answers to requests already in flight end their connection, so a client does not send its next
  // request on a socket about to close (Fastify answers requests that arrive while closing with 503 and the same).
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  // Confirm and delete carry no body, and clients often still send Content-Type: application/json.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined)
    else parseJson(request, body.toString(), done)
  })

  app.addSchema(FileRecordSchema)
  app.addSchema(ListedFileSchema)
  await app.register(errorHandler)
  await app.register(metrics, { metrics: config.metrics })
  await app.register(loadShedding, { limits: config.loadShedding })
  await app.register(cors, { origins: config.corsOrigins })
  await app.register(securityHeaders, { s3: config.s3 })
  await app.register(docs, { docs: config.docs })
  await app.register(storage, { s3: config.s3 })
  await app.register(events, { config })
  await app.register(scanning, { config })
  await app.register(uploads, { config })
  await app.register(multipart, { config })
  await app.register(cleanup, { config })
  await app.register(auth, { jwt: config.jwt, checkOwner: createOwnerCheck(config.uploads) })
  await app.register(optionalAuth)
  await app.register(redis, { redis: config.redis })
  await app.register(rateLimit, { limits: config.rateLimit })
  await app.register(root, { demoPage: config.demoPage })
  await app.register(health, { readyCacheMs: config.readyCacheMs })
  await app.register(files)
  await app.register(multipartRoutes)
  await app.register(multipartS3Routes)
  if (config.demoPage) await app.register(demo, {
    uploads: config.uploads,
    ownerClaim: config.jwt.ownerClaim,
    scanning: config.scanning.enabled,
    variants: config.variants,
    developmentToken: options.developmentToken,
  })
  return app
}
