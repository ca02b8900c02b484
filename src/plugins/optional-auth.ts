// Optional authentication: a route may also serve callers without a token (public downloads); a token that is sent must still be valid.
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route also serves requests without an Authorization header; `request.owner` then stays ''. */
    allowAnonymous?: boolean
  }
  interface FastifyInstance {
    /** An onRequest hook: `authenticate`, except that a route with `config.allowAnonymous` lets a request without a token through. */
    authenticateUnlessAnonymous: onRequestHookHandler
  }
}

export default fp(async function optionalAuth (app: FastifyInstance) {
  // A callback hook, not an async one: verification is synchronous (but for a JWKS key still to fetch), and a promise per
  // request costs a microtask turn.
  const hook: onRequestHookHandler = function authenticateUnlessAnonymous (request, _reply, done) {
    // Only a request with no Authorization header at all is anonymous: an empty, malformed or bad one is still a 401.
    if (request.routeOptions.config.allowAnonymous !== true || request.headers.authorization !== undefined) {
      let pending: void | Promise<void>
      try {
        pending = app.authenticate(request)
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)))
        return
      }
      // A token naming a JWKS key not loaded yet: the key set is asked first.
      if (pending instanceof Promise) {
        pending.then(() => { done() }, (error: unknown) => { done(error instanceof Error ? error : new Error(String(error))) })
        return
      }
    }
    done()
  }
  app.decorate('authenticateUnlessAnonymous', hook)
}, { name: 'optional-auth', dependencies: ['auth'] })
