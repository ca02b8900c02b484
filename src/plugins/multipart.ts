// The multipart plugin: one multipart service and its session store for the app, built on the storage plugin.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createMultipartService, type MultipartService } from '../multipart/multipart-service.js'
import { createSessionStore, type SessionStore } from '../multipart/session-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    multipart: MultipartService
    /** Multipart sessions, which cleanup also reads. */
    multipartSessions: SessionStore
  }
}

export default fp(async function multipart (app: FastifyInstance, { config }: { config: Config }) {
  const sessions = createSessionStore(app.storage.objects)
  app.decorate('multipartSessions', sessions)
  app.decorate('multipart', createMultipartService({ config, ...app.storage, sessions, events: app.events }))
}, { name: 'multipart', dependencies: ['storage', 'events'] })
