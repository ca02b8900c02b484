// The storage plugin: S3 clients, the object store and the record store, shared by the app and closed with it.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { observeObjectStore } from '../metrics/observed-store.js'
import { createConditionalWrites, type ConditionalWrites } from '../storage/conditional-writes.js'
import { createRecordStore, type RecordStore } from '../storage/record-store.js'
import { createObjectStore, createS3Clients, destroyS3Clients, type ObjectStore, type S3Clients } from '../storage/s3.js'

export interface Storage {
  readonly clients: S3Clients
  readonly objects: ObjectStore
  readonly records: RecordStore
  /** What the store's conditional writes can do, probed once and shared. */
  readonly conditional: ConditionalWrites
}

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage
  }
}

export default fp(async function storage (app: FastifyInstance, { s3 }: { s3: Config['s3'] }) {
  const clients = createS3Clients(s3)
  const store = createObjectStore(clients)
  // With metrics on, every S3 call is timed here, above whatever client makes it.
  const objects = app.metrics === undefined ? store : observeObjectStore(store, app.metrics.observeS3)
  const conditional = createConditionalWrites(objects)
  app.decorate('storage', { clients, objects, records: createRecordStore(objects, conditional), conditional })
  app.addHook('onClose', async () => destroyS3Clients(clients))
}, { name: 'storage', dependencies: ['metrics'] })
