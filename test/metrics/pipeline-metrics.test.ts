// /metrics after real pipeline work: webhook jobs delivered, retried and dead, scan verdicts, variants made and failed, batch download URLs, and rate limits counted alone while Redis is down.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { bearer, buildTestApp, postToS3 } from '../helper.js'
import { eicar, startTestClamd } from '../support/clamd.js'
import { tinyPng } from '../support/fixtures.js'
import { pngBomb } from '../support/images.js'
import { metricsBase, scrape, sumOf, type Sample } from '../support/prometheus.js'
import { startTestRedis } from '../support/redis-server.js'
import { startReceiver, TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js'

async function confirmed (app: FastifyInstance, filename: string, body: string | Uint8Array): Promise<string> {
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  if ((await postToS3(grant, body)).status !== 204) throw new Error('S3 refused the upload')
  const res = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  if (res.statusCode !== 201) throw new Error(`confirm answered ${res.statusCode}: ${res.body}`)
  return grant.file_id
}

/** Scrapes until `check` holds (bounded), and returns the last scrape. */
async function scrapeUntil (base: string, what: string, check: (samples: Sample[]) => boolean, ms = 60_000): Promise<Sample[]> {
  const deadline = Date.now() + ms
  for (;;) {
    const samples = await scrape(base)
    if (check(samples)) return samples
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const JOBS = 'filegate_jobs_total'

t.test('webhook jobs, scan verdicts and variants are counted as they happen', async (t) => {
  const clamd = await startTestClamd(t)
  // One receiver refuses each event's first attempt and takes the second; the other refuses every attempt.
  const flaky = await startReceiver(t)
  const seen = new Set<string>()
  flaky.answer = (request) => {
    const id = String(request.headers['webhook-id'])
    if (seen.has(id)) return { status: 204 }
    seen.add(id)
    return { status: 503 }
  }
  const broken = await startReceiver(t)
  broken.answer = () => ({ status: 500 })
  const { app } = await buildTestApp(t, {
    METRICS_PORT: '0', METRICS_HOST: '127.0.0.1',
    WEBHOOK_URLS: `${flaky.url},${broken.url}`, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_RETRY_SCHEDULE: '200ms', WEBHOOK_TIMEOUT_MS: '1000',
    SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '5000', SCAN_RETRY_SCHEDULE: '500ms',
    VARIANTS: 'thumb:64', EVENTS_POLL_INTERVAL: '200ms', EVENTS_GRACE: '2s', S3_TIMEOUT_MS: '1000', EVENTS_LEASE: '3s', RATE_LIMIT_ENABLED: 'false',
  })
  const metrics = metricsBase(app)
  const [flakyName, brokenName] = app.events.runner.consumers.map((c) => c.name).filter((name) => name.startsWith('webhook-'))

  const ids = [
    await confirmed(app, 'notes.txt', 'nothing to see here\n'),
    await confirmed(app, 'eicar.txt', eicar()),
    await confirmed(app, 'dot.png', tinyPng()),
    await confirmed(app, 'bomb.png', pngBomb()),
  ]
  t.equal(ids.length, 4)
  // 4 file.created, 4 file.scanned, 1 file.variants_ready (the bomb makes none): 9 events for each receiver.
  const events = 9
  const after = await scrapeUntil(metrics, 'every job to end', (s) =>
    sumOf(s, JOBS, { consumer: flakyName ?? '', outcome: 'done' }) >= events && sumOf(s, JOBS, { consumer: brokenName ?? '', outcome: 'dead' }) >= events &&
    sumOf(s, JOBS, { consumer: 'variants', outcome: 'done' }) >= 4)

  // Delivery is at least once: a busy machine may make an attempt twice, so the counts are checked against what the
  // receivers saw, and the events each reached against the 9 made.
  const distinct = (requests: typeof flaky.requests) => new Set(requests.map((r) => r.headers['webhook-id'])).size
  t.same([distinct(flaky.requests), distinct(broken.requests)], [events, events], 'each receiver was sent the 9 events')
  const job = (consumer: string | undefined, outcome: string) => sumOf(after, JOBS, { consumer: consumer ?? '', outcome })
  // The flaky receiver refused the first request of each event (seen.size of them) and accepted the rest.
  t.equal(job(flakyName, 'retried'), seen.size, `the flaky receiver: each refusal counted as retried (${job(flakyName, 'retried')})`)
  t.equal(job(flakyName, 'done'), flaky.requests.length - seen.size, `each acceptance as done (${job(flakyName, 'done')})`)
  t.equal(job(flakyName, 'dead'), 0)
  t.equal(job(brokenName, 'dead'), events, 'the broken receiver: each event dead-lettered once its two attempts failed (WEBHOOK_RETRY_SCHEDULE has one delay)')
  t.equal(job(brokenName, 'retried') + job(brokenName, 'dead'), broken.requests.length, `every refused attempt counted as retried or dead (${broken.requests.length})`)
  t.equal(job(brokenName, 'done'), 0)
  t.equal(sumOf(after, JOBS, { consumer: 'clamav-scan', outcome: 'done' }), 4, 'four scans done')
  t.equal(sumOf(after, 'filegate_scans_total', { verdict: 'clean' }), 3, 'three clean')
  t.equal(sumOf(after, 'filegate_scans_total', { verdict: 'infected' }), 1, 'one infected')
  t.equal(sumOf(after, 'filegate_scans_total', { verdict: 'error' }), 0)
  t.equal(sumOf(after, 'filegate_variants_total', { outcome: 'made' }), 1, 'the PNG\'s thumbnail made')
  t.equal(sumOf(after, 'filegate_variants_total', { outcome: 'failed' }), 1, 'the bomb\'s failed')
  t.equal(sumOf(after, 'filegate_job_lag_seconds_count', { consumer: flakyName ?? '' }), events, 'each delivery\'s lag measured')
  t.ok(sumOf(after, 'filegate_job_lag_seconds_sum', { consumer: flakyName ?? '' }) >= events * 0.2, 'including its 200 ms retry delay')

  // The batch route counts every URL it signs: the two clean non-bomb files and the bomb are served, the infected one is not.
  const batch = await app.inject({ method: 'POST', url: '/files/download-urls', headers: bearer('alice'), payload: { ids } })
  t.equal(batch.json<{ items: unknown[] }>().items.length, 3)
  const urls = await scrape(metrics)
  t.equal(sumOf(urls, 'filegate_download_urls_total') - sumOf(after, 'filegate_download_urls_total'), 3, 'three download URLs counted')
})

t.test('rate-limit checks decided alone while Redis is down are counted, and the Redis gauge says so', async (t) => {
  const redis = await startTestRedis(t)
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '1000', RATE_LIMIT_MAX: '100' })
  const metrics = metricsBase(app)
  const grant = async () => (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt' } })).statusCode
  t.equal(await grant(), 200)
  const up = await scrape(metrics)
  t.equal(sumOf(up, 'filegate_redis_connected'), 1, 'connected')
  t.equal(sumOf(up, 'filegate_rate_limit_redis_fallbacks_total'), 0, 'no check decided alone')

  await redis.stop()
  for (let i = 0; i < 3; i++) t.equal(await grant(), 200, 'served while Redis is down')
  const down = await scrapeUntil(metrics, 'the gauge to drop', (s) => sumOf(s, 'filegate_redis_connected') === 0, 10_000)
  t.equal(sumOf(down, 'filegate_rate_limit_redis_fallbacks_total'), 3, 'each of the three checks counted as decided alone')

  await redis.start()
  await scrapeUntil(metrics, 'the gauge to rise', (s) => sumOf(s, 'filegate_redis_connected') === 1, 20_000)
  t.equal(await grant(), 200)
  t.equal(sumOf(await scrape(metrics), 'filegate_rate_limit_redis_fallbacks_total'), 3, 'none once Redis is back')

  const plain = await buildTestApp(t, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })
  t.notOk((await scrape(metricsBase(plain.app))).some((s) => s.name === 'filegate_redis_connected'), 'without REDIS_URL there is no Redis gauge')
})
