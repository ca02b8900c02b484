// Optional authentication: a route may also serve callers without a token (public downloads); a token that is sent must still be valid.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route also serves requests without an Authorization header; `request.owner` then stays ''. */
    allowAnonymous?: boolean
  }
  interface FastifyInstance {
    /** An onRequest hook: `authenticate`, except that a route with `config.allowAnonymous` lets a request without a token through. */
    authenticateUnlessAnonymous: (request: FastifyRequest) => Promise<void>
  }
}

export default fp(async function optionalAuth (app: FastifyInstance) {
  app.decorate('authenticateUnlessAnonymous', async function authenticateUnlessAnonymous (request: FastifyRequest) {
    // Only a request with no Authorization header at all is anonymous: an empty, malformed or bad one is still a 401.
    if (request.routeOptions.config.allowAnonymous === true && request.headers.authorization === undefined) return
    await app.authenticate(request)
  })
}, { name: 'optional-auth', dependencies: ['auth'] })
