// The scanning and variants plugin: registers their consumers with the job runner, and tells /ready whether clamd answers.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { pingClamd } from '../scanning/clamd-client.js'
import { scanConsumer } from '../scanning/scan-consumer.js'
import { variantsConsumer } from '../variants/variants-consumer.js'

export interface Scanner {
  /** Whether clamd answers PING in time. */
  ready (): Promise<boolean>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined when scanning is off. */
    scanner: Scanner | undefined
  }
}

/** How long /ready waits for clamd's PONG. */
const PING_TIMEOUT_MS = 2000

export default fp(async function scanning (app: FastifyInstance, { config }: { config: Config }) {
  const deps = { config, objects: app.storage.objects, records: app.storage.records, events: app.events }
  const metrics = app.metrics
  if (config.scanning.enabled) app.events.register(scanConsumer({ ...deps, onVerdict: metrics === undefined ? undefined : (verdict) => metrics.scans.inc({ verdict }) }))
  if (config.variants.specs.length > 0) {
    const onVariant = metrics === undefined ? undefined : (outcome: 'made' | 'failed') => metrics.variants.inc({ outcome })
    app.events.register(variantsConsumer({ ...deps, log: app.log.child({ component: 'variants' }), onVariant }))
  }
  app.decorate('scanner', config.scanning.enabled ? { ready: async () => await pingClamd(config.scanning.clamd, PING_TIMEOUT_MS) } : undefined)
}, { name: 'scanning', dependencies: ['storage', 'events', 'metrics'] })
