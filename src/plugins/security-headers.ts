// Security headers (@fastify/helmet): a Content-Security-Policy that Swagger UI at /docs works under, and the rest of helmet's set.
import fastifyHelmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
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
  await app.register(fastifyHelmet, {
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
}, { name: 'security-headers' })
