// The uploads plugin: one upload service for the app, built on the storage plugin.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { countBatchDownloadUrls } from '../metrics/counted-downloads.js'
import { createUploadService, type UploadService } from '../uploads/upload-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    uploads: UploadService
  }
}

export default fp(async function uploads (app: FastifyInstance, { config }: { config: Config }) {
  const service = createUploadService({ config, ...app.storage, events: app.events })
  app.decorate('uploads', app.metrics === undefined ? service : countBatchDownloadUrls(service, app.metrics))
}, { name: 'uploads', dependencies: ['storage', 'events', 'metrics'] })
