// The Redis client (REDIS_URL), shared by the app and closed with it; `app.redis` is null without REDIS_URL.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { RedisLink } from '../rate-limits/shared-counter-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The client and its health, or null when REDIS_URL is unset. */
    redis: RedisLink | null
  }
}

/** The longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2000

export default fp(async function redis (app: FastifyInstance, { redis: settings }: { redis: Config['redis'] }) {
  if (settings.url === undefined) {
    app.decorate('redis', null)
    return
  }
  const client = new Redis(settings.url, {
    connectionName: 'filegate',
    connectTimeout: settings.timeoutMs,
    commandTimeout: settings.timeoutMs,
    // A command fails at once while disconnected rather than waiting in a queue: the caller counts locally instead.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Reconnect for ever, at most this far apart, so service resumes when Redis returns.
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  })
  const link = new RedisLink(client, settings.keyPrefix, app.log)
  // Errors are reported once per outage by the link; without a listener ioredis would print every reconnect failure.
  client.on('error', (error: Error) => link.lost(error))
  app.decorate('redis', link)
  const metrics = app.metrics
  if (metrics !== undefined) {
    link.onFallback(() => metrics.rateLimitFallbacks.inc())
    metrics.watchRedis(() => link.connectedNow)
  }
  // Start counting in Redis from the first request when it is there; a Redis that is not is no reason not to start.
  app.addHook('onReady', async () => { await link.connected(settings.timeoutMs) })
  app.addHook('onClose', async () => { client.disconnect() })
}, { name: 'redis', dependencies: ['metrics'] })
