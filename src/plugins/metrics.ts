// The metrics plugin: with METRICS_PORT, request metrics and counters, and /metrics served on a listener of its own.
import { createServer, type Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { countRouteOutcome } from '../metrics/route-outcomes.js'
import { createMetrics, type Metrics } from '../metrics/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's metrics; undefined when METRICS_PORT is unset (nothing is collected then). */
    metrics: Metrics | undefined
    /** The /metrics listener, once the app is ready; undefined when METRICS_PORT is unset. */
    metricsServer: Server | undefined
  }
}

/** Answers GET /metrics and nothing else; the API's routes are never served here, nor /metrics on the API's port. */
function createMetricsServer (metrics: Metrics): Server {
  return createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' })
      response.end(JSON.stringify({ statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found', message: `Route ${request.method ?? ''} ${path ?? ''} not found; this port serves GET /metrics only` }))
      return
    }
    metrics.scrape().then((text) => {
      response.writeHead(200, { 'content-type': metrics.registry.contentType })
      response.end(request.method === 'HEAD' ? undefined : text)
    }, () => {
      response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
      response.end(JSON.stringify({ statusCode: 500, code: 'INTERNAL_ERROR', error: 'Internal Server Error', message: 'The metrics could not be collected' }))
    })
  })
}

export default fp(async function metricsPlugin (app: FastifyInstance, { metrics: settings }: { metrics: Config['metrics'] }) {
  if (settings.port === undefined) {
    app.decorate('metrics', undefined)
    app.decorate('metricsServer', undefined)
    return
  }
  const metrics = createMetrics()
  app.decorate('metrics', metrics)
  const server = createMetricsServer(metrics)
  app.decorate('metricsServer', server)

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '(unmatched)'
    metrics.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000)
    countRouteOutcome(metrics, request.method, route, reply.statusCode)
    done()
  })

  const { port, host } = settings
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    app.log.info({ address: server.address() }, 'metrics listening')
  })
  app.addHook('onClose', async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
}, { name: 'metrics' })
