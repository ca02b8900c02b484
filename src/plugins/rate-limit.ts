// Abuse limits: per-owner request rates on the routes that opt in (upload-url, confirm) and per-address rates of anonymous downloads; 429 RATE_LIMITED with Retry-After.
import fastifyRateLimit, { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { RateLimitedError } from '../errors.js'
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import { withGroups } from '../rate-limits/grouped-store.js'
import { sharedCounterStore } from '../rate-limits/shared-counter-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The limits in force, for routes whose budget is not the default one. */
    rateLimits: Config['rateLimit']
  }
}

/** Per-process counters keep at most this many keys (an LRU); the oldest are forgotten first. */
const LOCAL_KEYS = 10_000
/** IPv6 clients usually hold a whole /64, so one counter covers the subnet, not each address. */
const IPV6_SUBNET = 64

/**
 * A route opts in with `config: { rateLimit: PER_OWNER_RATE_LIMIT }`: it gets its own counter per owner with the
 * RATE_LIMIT_* settings. With RATE_LIMIT_ENABLED=false the plugin is not registered and the setting does nothing.
 */
export const PER_OWNER_RATE_LIMIT: RateLimitOptions = Object.freeze({})

/**
 * Downloads without a token (shared files): RATE_LIMIT_ANONYMOUS_MAX per window per client address, the address as
 * TRUST_PROXY lets Fastify read it. A caller with a valid token is not counted here.
 */
export const ANONYMOUS_RATE_LIMIT: RateLimitOptions = Object.freeze({
  allowList: (request: FastifyRequest) => request.owner !== '',
  max: (request: FastifyRequest) => request.server.rateLimits.anonymousMax,
})

/** The budget that listings, records and download URLs share: one counter per owner across the three routes. */
const FILE_READS = 'file-reads'

/**
 * Multipart reads (a listing is one S3 LIST and a GET per upload, a status a GET and a ListParts): READ_RATE_LIMIT_MAX
 * per READ_RATE_LIMIT_WINDOW per owner, each route counted on its own, so that no owner makes S3 reads at will.
 */
export const PER_OWNER_READ_RATE_LIMIT: RateLimitOptions = Object.freeze({
  max: (request: FastifyRequest) => request.server.rateLimits.readMax,
  timeWindow: (request: FastifyRequest) => request.server.rateLimits.readWindowSeconds * 1000,
})

/**
 * File reads (a listing is one S3 LIST and a record GET per file, a record one GET): one budget per owner, shared with
 * download URLs, READ_RATE_LIMIT_MAX per READ_RATE_LIMIT_WINDOW whichever of the routes the reads go to.
 */
export const FILE_READ_RATE_LIMIT: RateLimitOptions = Object.freeze({ ...PER_OWNER_READ_RATE_LIMIT, groupId: FILE_READS })

/**
 * Download URLs: a caller with a token spends the owner's file-read budget (shared with listings and records), one
 * without the address's anonymous budget.
 */
export const DOWNLOAD_RATE_LIMIT: RateLimitOptions = Object.freeze({
  groupId: FILE_READS,
  max: (request: FastifyRequest) => request.owner !== '' ? request.server.rateLimits.readMax : request.server.rateLimits.anonymousMax,
  timeWindow: (request: FastifyRequest) => (request.owner !== '' ? request.server.rateLimits.readWindowSeconds : request.server.rateLimits.windowSeconds) * 1000,
})

export default fp(async function rateLimit (app: FastifyInstance, { limits }: { limits: Config['rateLimit'] }) {
  if (!limits.enabled) return
  app.decorate('rateLimits', limits)
  const redis = app.redis
  await app.register(fastifyRateLimit, {
    global: false,
    max: limits.max,
    timeWindow: limits.windowSeconds * 1000,
    // After authentication (onRequest), so the key is the verified owner; before validation, so malformed requests count too.
    hook: 'preValidation',
    // Routes that need no token fall back to the client address.
    keyGenerator: (request) => request.owner !== '' ? `owner:${request.owner}` : `ip:${normalizeIP(request.ip, IPV6_SUBNET)}`,
    // With REDIS_URL every instance shares the counters (and counts alone while Redis is out); without it, per process.
    // Either way routes with one groupId share one counter per key.
    store: redis === null
      ? withGroups(() => new LocalStore(false, false, LOCAL_KEYS))
      : withGroups((options) => new (sharedCounterStore(redis, `${redis.keyPrefix}rate-limit:`, LOCAL_KEYS))(options)),
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
  })
}, { name: 'rate-limit', dependencies: ['auth', 'redis'] })
