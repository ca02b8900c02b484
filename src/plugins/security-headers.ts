// Security headers (helmet's, computed once): a Content-Security-Policy that Swagger UI at /docs works under, and the rest of helmet's set.
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { Config } from '../config.js'

/**
 * The origins a browser page reaches S3 at: where it POSTs uploads and fetches downloads. That is the public endpoint
 * (or the one filegate uses), path-style or with the bucket as a subdomain, or AWS's own regional names.
 */
export function s3BrowserOrigins (s3: Config['s3']): string[] {
  const endpoint = s3.publicEndpoint ?? s3.endpoint
  if (endpoint === undefined) {
    return [`https://${s3.bucket}.s3.${s3.region}.amazonaws.com`, `https://s3.${s3.region}.amazonaws.com`, `https://${s3.bucket}.s3.amazonaws.com`, 'https://s3.amazonaws.com']
  }
  const url = new URL(endpoint)
  return s3.forcePathStyle ? [url.origin] : [url.origin, `${url.protocol}//${s3.bucket}.${url.host}`]
}

export default fp(async function securityHeaders (app: FastifyInstance, { s3 }: { s3: Config['s3'] }) {
  const s3Origins = s3BrowserOrigins(s3)
  const headers = helmetHeaders({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        // Scripts only from files on this origin: Swagger UI loads its bundle and initializer from /docs/static.
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        // Swagger UI (React) sets style attributes.
        'style-src': ["'self'", "'unsafe-inline'"],
        // Swagger UI's icons are data: URIs; a page on this origin may show images and media straight from S3.
        'img-src': ["'self'", 'data:', ...s3Origins],
        'media-src': ["'self'", ...s3Origins],
        // Swagger UI's "Try it out" calls this origin; a page on it POSTs uploads to S3 with fetch or XHR.
        'connect-src': ["'self'", ...s3Origins],
        'form-action': ["'self'", ...s3Origins],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'frame-ancestors': ["'none'"],
        // TLS is the proxy's business; upgrading would break plain-http development stores (http://localhost:9000).
        'upgrade-insecure-requests': null,
      },
    },
  })
  // The same headers on every answer, errors and 404s included, set on the raw response as helmet itself does.
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value)
    done()
  })
}, { name: 'security-headers' })

/**
 * Helmet's headers for `options`, worked out once. With no nonces and no functions in the policy they never change,
 * while @fastify/helmet rebuilds helmet and re-parses the policy on every request (about 6 % of upload-url's CPU).
 */
function helmetHeaders (options: HelmetOptions): Array<[string, string]> {
  const response = new ServerResponse(new IncomingMessage(new Socket()))
  let finished = false
  let error: unknown
  helmet(options)(response.req, response, (err?: unknown) => { finished = true; error = err })
  if (error !== undefined) throw error
  if (!finished) throw new Error('helmet did not set its headers synchronously')
  return Object.entries(response.getHeaders()).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)])
}
