// The events plugin: the outbox writer and the job runner (dispatcher) for the app; the runner polls once the app is ready, and stops on close.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { Consumer } from '../events/consumer.js'
import { configuredConsumers } from '../events/consumers.js'
import { createJobRunner, type JobRunner } from '../events/job-runner.js'
import { createJobStore, type JobStore } from '../events/job-store.js'
import { createEventOutbox, type EventOutbox } from '../events/outbox.js'
import { jobMetricsObserver } from '../metrics/job-outcomes.js'

export interface Events extends EventOutbox {
  readonly runner: JobRunner
  readonly jobs: JobStore
  /** Adds a consumer of outbox events; call it before the app is ready. */
  register (consumer: Consumer): void
}

declare module 'fastify' {
  interface FastifyInstance {
    events: Events
  }
}

export default fp(async function events (app: FastifyInstance, { config }: { config: Config }) {
  const jobs = createJobStore(app.storage.objects, app.storage.conditional)
  const runner = createJobRunner({
    jobs,
    retryDelaysMs: config.events.retryDelaysMs,
    leaseMs: config.events.leaseMs,
    pollIntervalMs: config.events.pollIntervalMs,
    graceMs: config.events.graceMs,
    log: app.log.child({ component: 'events' }),
  })
  for (const consumer of configuredConsumers(config)) runner.register(consumer)
  if (app.metrics !== undefined) runner.addObserver(jobMetricsObserver(app.metrics))
  const outbox = createEventOutbox({ wanted: (type) => runner.consumers.some((c) => c.types.includes(type)), submit: (event, fresh) => runner.submit(event, { fresh }) })
  app.decorate('events', { ...outbox, runner, jobs, register: (consumer: Consumer) => runner.register(consumer) })
  app.addHook('onReady', async () => runner.start())
  // Registered after storage, so this runs before the S3 clients are destroyed.
  app.addHook('onClose', async () => await runner.close())
}, { name: 'events', dependencies: ['storage', 'metrics'] })
