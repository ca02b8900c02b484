// Load shedding (@fastify/under-pressure): past an event-loop delay or utilisation threshold, 503 OVERLOADED with Retry-After.
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { OverloadedError } from '../errors.js'

/**
 * Every request but /health is refused while the process is overloaded, /ready included, so a load balancer stops
 * sending it work until it recovers; /health stays 200 so that an orchestrator does not restart a process that is only
 * busy. The thresholds are measured over one-second samples.
 */
export default fp(async function loadShedding (app: FastifyInstance, { limits }: { limits: Config['loadShedding'] }) {
  if (limits.maxEventLoopDelayMs === 0 && limits.maxEventLoopUtilization === 0) return
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxEventLoopUtilization: limits.maxEventLoopUtilization,
    // The share of the last sample, not of the process's whole life.
    eventLoopUtilizationMode: 'interval',
    retryAfter: limits.retryAfterSeconds,
    customError: OverloadedError,
  })
}, { name: 'load-shedding', dependencies: ['error-handler'] })

/** Route config for the routes that must answer even under pressure (liveness). */
export const NEVER_SHED = Object.freeze({ pressureHandler: () => undefined })
