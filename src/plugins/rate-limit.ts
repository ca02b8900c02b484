// Abuse limits: per-owner request rates on the routes that opt in (upload-url, confirm); 429 RATE_LIMITED with Retry-After.
import fastifyRateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { RateLimitedError } from '../errors.js'

/**
 * A route opts in with `config: { rateLimit: PER_OWNER_RATE_LIMIT }`: it gets its own counter per owner with the
 * RATE_LIMIT_* settings. With RATE_LIMIT_ENABLED=false the plugin is not registered and the setting does nothing.
 */
export const PER_OWNER_RATE_LIMIT: RateLimitOptions = Object.freeze({})

export default fp(async function rateLimit (app: FastifyInstance, { limits }: { limits: Config['rateLimit'] }) {
  if (!limits.enabled) return
  await app.register(fastifyRateLimit, {
    global: false,
    max: limits.max,
    timeWindow: limits.windowSeconds * 1000,
    // After authentication (onRequest), so the key is the verified owner; before validation, so malformed requests count too.
    hook: 'preValidation',
    // Routes that need no token would fall back to the client address.
    keyGenerator: (request) => request.owner !== '' ? `owner:${request.owner}` : `ip:${request.ip}`,
    // Counters live in this process (an LRU of this many keys); each copy behind a load balancer counts on its own.
    cache: 10_000,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
  })
}, { name: 'rate-limit', dependencies: ['auth'] })
