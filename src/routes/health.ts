// Liveness and readiness: /health says the process runs, /ready that the bucket answers.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { NEVER_SHED } from '../plugins/load-shedding.js'
import { ScannerUnavailableError } from '../errors.js'
import { ErrorRef } from '../schemas/error-response.js'

/** The checks take no parameters: a probe configured with some is told so (400) rather than silently ignored. */
const NoQuery = Type.Object({}, { additionalProperties: false })

/**
 * A check that concurrent callers share (at most one runs at a time) and whose answer, success or failure, is reused for
 * `cacheMs` after it settles: /ready needs no token, so no caller may make filegate call S3 or clamd at its own rate.
 */
export function sharedCheck<T> (check: () => Promise<T>, cacheMs: number): () => Promise<T> {
  let current: { readonly answer: Promise<T>, settledAt: number | undefined } | undefined
  return async () => {
    if (current === undefined || (current.settledAt !== undefined && performance.now() - current.settledAt >= cacheMs)) {
      const entry: { readonly answer: Promise<T>, settledAt: number | undefined } = { answer: check(), settledAt: undefined }
      const settled = () => { entry.settledAt = performance.now() }
      entry.answer.then(settled, settled)
      current = entry
    }
    return await current.answer
  }
}

export interface HealthOptions {
  /** How long /ready reuses a settled check (READY_CACHE_MS). */
  readonly readyCacheMs: number
}

const health: FastifyPluginAsyncTypebox<HealthOptions> = async (app, { readyCacheMs }) => {
  const bucketAnswers = sharedCheck(async () => { await app.storage.objects.checkBucket() }, readyCacheMs)
  const scanner = app.scanner
  const scannerAnswers = scanner === undefined ? async () => true : sharedCheck(async () => await scanner.ready(), readyCacheMs)

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
      description: 'Answers 200 when the bucket can be reached (and clamd answers, with SCANNER=clamav); 503 STORAGE_UNAVAILABLE (or 504 STORAGE_TIMEOUT) or SCANNER_UNAVAILABLE when not, and 503 OVERLOADED with Retry-After while the process sheds load. The bucket and clamd checks are shared by concurrent probes and their answer is reused for READY_CACHE_MS (2 s by default); the load-shedding answer is always current.',
      tags: ['health'],
      security: [],
      querystring: NoQuery,
      response: { 200: Type.Object({ status: Type.Literal('ready') }), 400: ErrorRef, 503: ErrorRef, 504: ErrorRef },
    },
  }, async () => {
    const [scannerReady] = await Promise.all([scannerAnswers(), bucketAnswers()])
    if (!scannerReady) throw new ScannerUnavailableError()
    return { status: 'ready' as const }
  })
}

export default health
