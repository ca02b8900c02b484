// API CORS: browsers on CORS_ORIGINS may call filegate; every other origin gets no allow-origin header.
import fastifyCors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export default fp(async function cors (app: FastifyInstance, { origins }: { origins: readonly string[] }) {
  await app.register(fastifyCors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
    // A malformed preflight (no Origin or no Access-Control-Request-Method) gets a plain 204 without CORS headers,
    // not the plugin's text/plain 400, which would break the one error shape.
    strictPreflight: false,
  })
}, { name: 'cors' })
