// /metrics after real requests: request counts by route pattern, S3 calls by operation, the counters, and where it is served.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { bearer, buildTestApp } from '../helper.js'
import { metricsBase, parsePrometheusText, scrape, sumOf, type Sample } from '../support/prometheus.js'
import { confirm, uploadFile } from '../support/flow.js'

const HTTP = 'filegate_http_request_duration_seconds_count'
const S3 = 'filegate_s3_request_duration_seconds_count'

async function listenOnLoopback (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}

/** How much each sample grew between two scrapes. */
function delta (before: readonly Sample[], after: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return sumOf(after, name, labels) - sumOf(before, name, labels)
}

t.test('metrics count the requests made, by route pattern, with S3 calls and counters', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', RATE_LIMIT_MAX: '5' })
  const api = await listenOnLoopback(app)
  const metrics = metricsBase(app)
  t.not(metrics, api, 'the metrics listener has a port of its own')

  const before = await scrape(metrics)
  // Grants: 3 by alice and 1 for her upload; bob's 6th in the window is refused.
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt' } })).statusCode, 200)
  for (let i = 0; i < 6; i++) await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('bob'), payload: { filename: 'b.txt' } })
  const grant = await uploadFile(app, 'alice', 'hello metrics')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 200)
  t.equal((await confirm(app, 'alice', grant.key.replace(/[0-9a-f]{4}(\.txt)$/, 'ffff$1'))).statusCode, 404)
  const middle = await scrape(metrics)
  for (let i = 0; i < 2; i++) t.equal((await fetch(`${api}/files/download/${grant.file_id}`, { headers: bearer('alice') })).status, 200)
  for (let i = 0; i < 4; i++) t.equal((await fetch(`${api}/files/${grant.file_id}`, { headers: bearer('alice') })).status, 200)
  const reads = await scrape(metrics)
  t.equal((await fetch(`${api}/files/${grant.file_id}`, { method: 'DELETE', headers: bearer('alice') })).status, 204)
  t.equal((await fetch(`${api}/no/such/route/${grant.file_id}`)).status, 404)
  const after = await scrape(metrics)

  t.equal(delta(before, after, HTTP, { route: '/files/upload-url', method: 'POST', status_code: '200' }), 9, 'nine grants answered 200: alice\'s 3, bob\'s 5 and the upload\'s')
  t.equal(delta(before, after, HTTP, { route: '/files/upload-url', method: 'POST', status_code: '429' }), 1, 'one answered 429')
  t.equal(delta(before, after, HTTP, { route: '/files/confirm/*', method: 'POST' }), 3, 'three confirms')
  t.equal(delta(before, after, HTTP, { route: '/files/download/:id', method: 'GET', status_code: '200' }), 2)
  t.equal(delta(before, after, HTTP, { route: '/files/:id', method: 'GET', status_code: '200' }), 4, 'record reads under their pattern')
  t.equal(delta(before, after, HTTP, { route: '/files/:id', method: 'DELETE', status_code: '204' }), 1)
  t.equal(delta(before, after, HTTP, { route: '(unmatched)', status_code: '404' }), 1, 'an unknown URL is counted as (unmatched)')
  t.equal(delta(before, after, HTTP), 9 + 1 + 3 + 2 + 4 + 1 + 1, 'every request is counted once, none other')
  const routes = new Set(after.filter((s) => s.name === HTTP).map((s) => s.labels.route))
  t.same([...routes].filter((r) => r === undefined || !(r === '(unmatched)' || r.startsWith('/'))), [], 'every route label is a pattern')
  t.notOk([...routes].some((r) => r?.includes(grant.file_id) === true || r?.includes('uploads/') === true), `no route label holds a raw URL (${[...routes].join(', ')})`)

  t.equal(delta(before, after, 'filegate_upload_grants_total', { kind: 'post' }), 9, 'the nine grants counted')
  t.equal(delta(before, after, 'filegate_rate_limited_total', { route: '/files/upload-url' }), 1)
  t.equal(delta(before, after, 'filegate_confirms_total', { outcome: 'created' }), 1)
  t.equal(delta(before, after, 'filegate_confirms_total', { outcome: 'repeated' }), 1)
  t.equal(delta(before, after, 'filegate_confirms_total', { outcome: 'not_found' }), 1)
  t.equal(delta(before, after, 'filegate_download_urls_total'), 2)
  t.equal(delta(before, after, 'filegate_deletes_total'), 1)

  // Each download and record read is one S3 read of the record (test/routes/s3-round-trips.test.ts): six reads.
  t.equal(delta(middle, reads, S3), 6, 'six reads, six S3 calls')
  t.equal(delta(middle, reads, S3, { operation: 'getText', outcome: 'ok' }), 6, 'each the record read')
  t.ok(delta(before, middle, S3, { operation: 'head' }) >= 2, 'confirms HEAD the upload')
  t.ok(delta(before, middle, S3, { operation: 'put' }) >= 2, 'the first confirm writes the record and its index entry')
  t.ok(sumOf(after, 'filegate_s3_request_duration_seconds_sum') > 0, 'S3 time is measured')

  t.ok(sumOf(after, 'process_cpu_user_seconds_total') > 0, 'Node\'s process metrics are there')
  t.ok(after.some((s) => s.name === 'nodejs_eventloop_lag_seconds'), 'and the event loop lag')
})

t.test('/metrics is served on METRICS_PORT only', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })
  const api = await listenOnLoopback(app)
  const metrics = metricsBase(app)
  const onApi = await fetch(`${api}/metrics`)
  t.equal(onApi.status, 404, 'the API port does not serve /metrics')
  t.equal((await onApi.json() as { code?: unknown }).code, 'ROUTE_NOT_FOUND')
  const res = await fetch(`${metrics}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  t.ok(parsePrometheusText(await res.text()).length > 0)
  const apiOnMetrics = await fetch(`${metrics}/files`, { headers: bearer('alice') })
  t.equal(apiOnMetrics.status, 404, 'the metrics port serves nothing of the API')
  t.equal((await apiOnMetrics.json() as { code?: unknown }).code, 'ROUTE_NOT_FOUND')
})

t.test('without METRICS_PORT nothing is collected or served', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal(app.metrics, undefined)
  t.equal(app.metricsServer, undefined)
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
})
