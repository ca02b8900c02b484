// Three filegate processes behind HAProxy (round robin, health checks on /ready), one RGW, one Redis: 30 s of full
// flows from 200 owners while one instance is SIGKILLed at 10 s and started again at 20 s. Nothing confirmed is lost,
// the only 5xx are the killed instance's in-flight requests, and each live instance's /metrics accounts for its answers.
import t from 'tap'
import { postToS3, tokenFor } from '../helper.js'
import { startFleet } from '../support/fleet.js'
import { startHaproxy } from '../support/haproxy.js'
import { scrape, sumOf } from '../support/prometheus.js'
import { startTestRedis } from '../support/redis-server.js'

const LOAD_MS = 30_000
const KILL_AT_MS = 10_000
const RESTART_AT_MS = 20_000
const OWNERS = 200
const WORKERS = 16
const REQUEST_TIMEOUT_MS = 15_000
const ROUTES = ['/files/upload-url', '/files/confirm/*', '/files/download/:id'] as const
type Route = typeof ROUTES[number]

/** One answer (or failure) of filegate through HAProxy, as the client saw it. */
interface Answer { readonly route: Route, readonly status: number, readonly server: string | null, readonly at: number, readonly error?: string }
interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }

t.test('SIGKILL one of three instances under load: nothing confirmed is lost, only its in-flight requests fail', async (t) => {
  const redis = await startTestRedis(t)
  const fleet = await startFleet(t, ['a', 'b', 'c'], {
    REDIS_URL: redis.url, TRUST_PROXY: '127.0.0.1', RATE_LIMIT_MAX: '1000000', MAX_FILE_SIZE: '1MiB',
  })
  const proxy = await startHaproxy(t, fleet.instances.map((i) => ({ name: i.name, port: i.port })))
  for (const instance of fleet.instances) await proxy.waitFor(instance.name, 'UP')
  const [a, b, c] = fleet.instances
  if (a === undefined || b === undefined || c === undefined) throw new Error('three instances')
  const tokens = Array.from({ length: OWNERS }, (_, n) => tokenFor(`owner-${n}`))

  const answers: Answer[] = []
  const confirmed: Array<{ id: string, owner: number }> = []
  const s3Failures: string[] = []
  const started = performance.now()
  const now = () => performance.now() - started

  async function call (route: Route, method: string, path: string, owner: number): Promise<Response | null> {
    try {
      const res = await fetch(`${proxy.base}${path}`, { method, headers: { authorization: `Bearer ${tokens[owner] ?? ''}`, 'content-type': 'application/json' }, body: method === 'POST' && route === '/files/upload-url' ? JSON.stringify({ filename: 'note.txt' }) : undefined, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      answers.push({ route, status: res.status, server: res.headers.get('x-served-by'), at: now() })
      return res
    } catch (error) {
      answers.push({ route, status: 0, server: null, at: now(), error: String(error) })
      return null
    }
  }

  async function flow (n: number): Promise<void> {
    const owner = n % OWNERS
    const granted = await call('/files/upload-url', 'POST', '/files/upload-url', owner)
    if (granted?.status !== 200) return
    const grant = await granted.json() as Grant
    const posted = await postToS3(grant, `flow ${n} of owner ${owner}`).catch((error: unknown) => ({ status: 0, error }))
    if (posted.status !== 204) { s3Failures.push(`flow ${n}: ${posted.status}`); return }
    const confirm = await call('/files/confirm/*', 'POST', `/files/confirm/${grant.key}`, owner)
    if (confirm?.status !== 201) return
    confirmed.push({ id: grant.file_id, owner })
    await (await call('/files/download/:id', 'GET', `/files/download/${grant.file_id}`, owner))?.arrayBuffer()
  }

  let next = 0
  const workers = Array.from({ length: WORKERS }, async () => {
    while (now() < LOAD_MS) await flow(next++)
  })
  let killedAt = 0
  let restartedAt = 0
  const chaos = (async () => {
    await new Promise((resolve) => setTimeout(resolve, KILL_AT_MS))
    killedAt = now()
    await b.kill()
    await new Promise((resolve) => setTimeout(resolve, RESTART_AT_MS - now()))
    // From here on, an answer from b comes from its second life.
    restartedAt = now()
    await b.start()
    await proxy.waitFor('b', 'UP', 30_000)
  })()
  await Promise.all([...workers, chaos])
  const loadMs = now()

  // Scraped before anything else goes through the proxy, so the counts are the load's.
  const metrics = new Map(await Promise.all(fleet.instances.map(async (i) => [i.name, await scrape(`http://127.0.0.1:${i.metricsPort}`)] as const)))
  const proxied = proxy.requests()

  const failures = answers.filter((x) => x.status >= 500 || x.status === 0)
  const proxyFailures = proxied.filter((x) => x.status >= 500 || x.status <= 0)
  // Requests b had when it died, which HAProxy sent again to a survivor (retry-on empty-response).
  const redispatched = proxied.filter((x) => x.retries.startsWith('+'))
  const served = (name: string, from = 0) => answers.filter((x) => x.server === name && x.at >= from)
  t.comment(`${next} flows in ${(loadMs / 1000).toFixed(1)} s, ${confirmed.length} confirmed, ${answers.length} API answers ` +
    `(a ${served('a').length}, b ${served('b').length} of which ${served('b', restartedAt).length} after its restart, c ${served('c').length}); ` +
    `killed at ${(killedAt / 1000).toFixed(1)} s, restarted at ${(restartedAt / 1000).toFixed(1)} s; ` +
    `${failures.length} failed requests: ${JSON.stringify(failures.map((f) => ({ route: f.route, status: f.status, at: Math.round(f.at), error: f.error })))}; ` +
    `HAProxy logged ${proxyFailures.length}: ${JSON.stringify(proxyFailures)}; ` +
    `${redispatched.length} requests in flight on the killed instance were sent again to a survivor (${redispatched.map((x) => `${x.method} ${x.path.split('/').slice(0, 3).join('/')} ${x.status}`).join(', ')})`)

  t.ok(confirmed.length >= 50, `a real load: ${confirmed.length} files confirmed`)
  t.same(s3Failures, [], 'every POST to S3 was accepted')
  t.same(answers.filter((x) => x.status > 0 && x.status < 500 && ![200, 201].includes(x.status)), [], 'no 4xx: every request was a good one')

  // The only failures allowed: requests b had when it died and HAProxy could not send again, answered 502/503 by
  // HAProxy, or a client connection HAProxy closed because of them. Counted and reported above.
  const badGateway = failures.filter((f) => f.status !== 0)
  t.ok(failures.length <= WORKERS, `at most one in-flight request per worker failed (${failures.length})`)
  t.ok(failures.every((f) => f.at >= killedAt && f.at <= killedAt + 10_000), 'each within 10 s of the kill')
  t.ok(badGateway.every((f) => f.server === null && (f.status === 502 || f.status === 503)), 'each 5xx was made by HAProxy, none is an answer of filegate')
  t.equal(proxyFailures.length, badGateway.length, 'HAProxy logged the same number of 5xx')
  t.ok(proxyFailures.every((x) => x.server === 'b'), 'all of them on the killed instance b')
  t.ok(redispatched.every((x) => x.status < 500), 'the requests HAProxy sent again were answered')
  t.equal(proxyFailures.length, failures.length, 'HAProxy logged the same number of failed requests')
  t.ok(proxyFailures.every((x) => x.server === 'b'), 'all of them on the killed instance b')

  // Each process that is alive counts exactly what the client got from it (b: since its restart), route by route.
  for (const [name, from] of [['a', 0], ['c', 0], ['b', restartedAt]] as const) {
    const samples = metrics.get(name) ?? []
    for (const route of ROUTES) {
      const seen = served(name, from).filter((x) => x.route === route).length
      const counted = sumOf(samples, 'filegate_http_request_duration_seconds_count', { route })
      t.equal(counted, seen, `${name}'s /metrics counts ${route}: ${counted}, the client got ${seen}`)
    }
    const created = served(name, from).filter((x) => x.route === '/files/confirm/*' && x.status === 201).length
    t.equal(sumOf(samples, 'filegate_confirms_total', { outcome: 'created' }), created, `${name}'s confirms_total{created} is ${created}`)
  }

  // Every confirmed file is there: its record through any instance, and its bytes through a download URL.
  const missing: string[] = []
  const readers = new Map<string, number>()
  for (let i = 0; i < confirmed.length; i += WORKERS) {
    await Promise.all(confirmed.slice(i, i + WORKERS).map(async ({ id, owner }) => {
      const res = await fetch(`${proxy.base}/files/${id}`, { headers: { authorization: `Bearer ${tokens[owner] ?? ''}` } })
      const body = await res.json() as { id?: string }
      if (res.status !== 200 || body.id !== id) missing.push(`${id}: ${res.status}`)
      const server = res.headers.get('x-served-by') ?? 'none'
      readers.set(server, (readers.get(server) ?? 0) + 1)
    }))
  }
  t.same(missing, [], `all ${confirmed.length} confirmed files are readable afterwards`)
  t.ok((readers.get('b') ?? 0) > 0, `the restarted instance serves again (reads by instance: ${JSON.stringify(Object.fromEntries(readers))})`)
  const sample = confirmed.filter((_, i) => i % Math.max(1, Math.floor(confirmed.length / 20)) === 0)
  let bytesOk = 0
  for (const { id, owner } of sample) {
    const grant = await (await fetch(`${proxy.base}/files/download/${id}`, { headers: { authorization: `Bearer ${tokens[owner] ?? ''}` } })).json() as { download_url: string }
    if ((await (await fetch(grant.download_url)).text()).endsWith(`of owner ${owner}`)) bytesOk++
  }
  t.equal(bytesOk, sample.length, `the bytes of ${sample.length} sampled files download intact`)
})
