// A bounded soak of the app in its own process (about 30 s, loopback, several users): no 5xx, no lost file, flat memory.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { bearer, createTestBucket, postToS3, s3ClientFor, TEST_JWT_SECRET, testS3 } from './helper.js'

const USERS = 5
const WARMUP_MS = 3_000
const SOAK_MS = 30_000
/** Flows per user at most, so a fast machine does not turn the soak into a flood. */
const MAX_FLOWS_PER_USER = 400
/**
 * Growth allowed after a full GC. The heap is the leak signal (2-5 MB of growth in runs so far); RSS also holds what
 * the allocator keeps for reuse, and once grew 63 MB on a machine at load 10 with the heap flat, so its bound is gross.
 */
const HEAP_BUDGET_BYTES = 16 * 1024 * 1024
const RSS_BUDGET_BYTES = 100 * 1024 * 1024

interface Memory { readonly rss: number, readonly heapUsed: number }

/** The app listening in a child process (test/support/soak-server.ts) on a fresh bucket, with its memory on request. */
async function startSoakServer (t: Test): Promise<{ base: string, measure (): Promise<Memory>, output (): string }> {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const child = fork(fileURLToPath(new URL('support/soak-server.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'warn',
      S3_ENDPOINT: store.endpoint, S3_REGION: store.region, S3_FORCE_PATH_STYLE: 'true', S3_BUCKET: bucket,
      AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_ENABLED: 'false',
    },
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  t.teardown(async () => {
    if (child.connected) child.send('close')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  })
  const next = async <T extends { type: string }>(type: T['type']): Promise<T> => await new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type) {
        child.off('message', onMessage)
        resolve(message as T)
      }
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`the soak server exited with ${code}:\n${output}`)))
  })
  const { port } = await next<{ type: 'ready', port: number }>('ready')
  return {
    base: `http://127.0.0.1:${port}`,
    async measure () {
      const memory = next<{ type: 'memory' } & Memory>('memory')
      child.send('measure')
      return await memory
    },
    output: () => output,
  }
}

interface Stats {
  requests: number
  flows: number
  deletes: number
  readonly statuses: Record<string, number>
  readonly unexpected: string[]
  readonly latencies: number[]
}

t.test('soak: mixed flow by several users', async (t) => {
  const server = await startSoakServer(t)
  /** What each user has confirmed and not deleted: id → content. */
  const kept = new Map<string, Map<string, string>>()
  const newStats = (): Stats => ({ requests: 0, flows: 0, deletes: 0, statuses: {}, unexpected: [], latencies: [] })

  async function call (stats: Stats, user: string, method: string, path: string, expected: number, body?: unknown): Promise<Record<string, unknown>> {
    const started = performance.now()
    const res = await fetch(`${server.base}${path}`, {
      method,
      headers: { ...bearer(user), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    stats.latencies.push(performance.now() - started)
    stats.requests++
    const family = `${String(res.status)[0]}xx`
    stats.statuses[family] = (stats.statuses[family] ?? 0) + 1
    if (res.status !== expected) stats.unexpected.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`)
    return text === '' ? {} : JSON.parse(text) as Record<string, unknown>
  }

  /** upload-url → POST to S3 → confirm → list → download, and every third flow a delete of an earlier file. */
  async function flow (stats: Stats, user: string, n: number): Promise<void> {
    const mine = kept.get(user) ?? new Map<string, string>()
    kept.set(user, mine)
    const content = `${user} ${n} ${randomBytes(512 + Math.floor(Math.random() * 8192)).toString('hex')}`
    const grant = await call(stats, user, 'POST', '/files/upload-url', 200, { filename: `soak-${n}.txt` }) as { url: string, key: string, fields: Record<string, string>, file_id: string }
    const posted = await postToS3(grant, content)
    if (posted.status !== 204) stats.unexpected.push(`POST to S3: ${posted.status}`)
    const record = await call(stats, user, 'POST', `/files/confirm/${grant.key}`, 201)
    if (record.id === grant.file_id) mine.set(grant.file_id, content)
    await call(stats, user, 'GET', '/files?limit=20', 200)
    const download = await call(stats, user, 'GET', `/files/download/${grant.file_id}`, 200)
    if (typeof download.download_url === 'string' && await (await fetch(download.download_url)).text() !== content) stats.unexpected.push(`download of ${grant.file_id} differs`)
    if (n % 3 === 2) {
      const victim = [...mine.keys()][Math.floor(Math.random() * mine.size)]
      if (victim !== undefined) {
        await call(stats, user, 'DELETE', `/files/${victim}`, 204)
        mine.delete(victim)
        stats.deletes++
        await call(stats, user, 'GET', `/files/${victim}`, 404)
      }
    }
    stats.flows++
  }

  async function run (stats: Stats, ms: number, firstFlow: number): Promise<void> {
    const end = performance.now() + ms
    await Promise.all(Array.from({ length: USERS }, async (_, u) => {
      for (let n = firstFlow; n < firstFlow + MAX_FLOWS_PER_USER && performance.now() < end; n++) await flow(stats, `soak-user-${u}`, n)
    }))
  }

  const warmup = newStats()
  await run(warmup, WARMUP_MS, 0)
  const warm = await server.measure()
  const soak = newStats()
  const started = performance.now()
  await run(soak, SOAK_MS, 1_000_000)
  const seconds = (performance.now() - started) / 1000
  const after = await server.measure()

  // Every file confirmed and not deleted is listed, and downloads intact.
  const verify = newStats()
  let lost = 0
  let checked = 0
  await Promise.all([...kept].map(async ([user, files]) => {
    const listed = new Set<string>()
    let cursor: string | null = null
    do {
      const page = await call(verify, user, 'GET', `/files?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, 200) as { items: Array<{ id: string }>, next_cursor: string | null }
      for (const item of page.items) listed.add(item.id)
      cursor = page.next_cursor
    } while (cursor !== null)
    const entries = [...files]
    for (let i = 0; i < entries.length; i += 8) {
      await Promise.all(entries.slice(i, i + 8).map(async ([id, content]) => {
        checked++
        const grant = await call(verify, user, 'GET', `/files/download/${id}`, 200) as { download_url?: string }
        const intact = grant.download_url !== undefined && await (await fetch(grant.download_url)).text() === content
        if (!listed.has(id) || !intact) lost++
      }))
    }
    t.equal(listed.size, files.size, `${user}: the list holds exactly the files kept`)
  }))

  const sorted = [...soak.latencies].sort((a, b) => a - b)
  const pct = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0)
  const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10
  const all = [warmup, soak, verify]
  const fiveXx = all.reduce((sum, s) => sum + (s.statuses['5xx'] ?? 0), 0)
  t.comment(`soak: ${USERS} users, ${seconds.toFixed(1)} s, ${soak.flows} flows, ${soak.requests} filegate requests (${Math.round(soak.requests / seconds)}/s), ${soak.deletes} deletes; status ${JSON.stringify(soak.statuses)}; latency p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, p99 ${pct(0.99)} ms`)
  t.comment(`files kept and checked at the end: ${checked}, lost: ${lost}; 5xx over warm-up, soak and checks: ${fiveXx}`)
  t.comment(`server memory after a full GC: RSS ${mb(warm.rss)} MB after warm-up (${warmup.flows} flows), ${mb(after.rss)} MB after the soak, delta ${mb(after.rss - warm.rss)} MB (budget ${mb(RSS_BUDGET_BYTES)} MB); heap used ${mb(warm.heapUsed)} → ${mb(after.heapUsed)} MB (budget ${mb(HEAP_BUDGET_BYTES)} MB of growth)`)

  t.ok(soak.flows >= USERS * 5, 'the soak ran a real load')
  t.equal(fiveXx, 0, 'zero 5xx')
  t.same(all.flatMap((s) => s.unexpected), [], 'every answer was the expected one')
  t.ok(checked > 0, 'files were kept to check')
  t.equal(lost, 0, 'zero lost files')
  t.ok(after.heapUsed - warm.heapUsed < HEAP_BUDGET_BYTES, `the heap after a full GC grew ${mb(after.heapUsed - warm.heapUsed)} MB, under ${mb(HEAP_BUDGET_BYTES)} MB`)
  t.ok(after.rss - warm.rss < RSS_BUDGET_BYTES, `RSS grew ${mb(after.rss - warm.rss)} MB, under ${mb(RSS_BUDGET_BYTES)} MB`)
  t.notMatch(server.output(), /"level":50/, 'the server logged no error')
})
