// SIGTERM during a burst: every request the server accepted gets a complete response, and the process exits 0.
import { Agent, request } from 'node:http'
import t from 'tap'
import { bearer, testS3 } from '../helper.js'
import { startServer } from '../support/server-process.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

const REQUESTS = 200
const CONNECTIONS = 16

type Outcome =
  | { readonly url: string, readonly kind: 'complete', readonly status: number, readonly body: { code?: string }, readonly at: number }
  /** Refused (no listener) or closed before any byte of a response: the server never took the request. */
  | { readonly url: string, readonly kind: 'not-accepted', readonly code: string }
  /** A response that began and did not finish: what must never happen. */
  | { readonly url: string, readonly kind: 'truncated', readonly code: string }

t.test('SIGTERM mid-burst: accepted requests complete, the rest are refused, exit 0', async (t) => {
  // S3 behind a proxy, so the test can hold S3 calls and be sure requests are in flight when the signal comes.
  const proxy = await startTcpProxy(testS3().endpoint)
  t.teardown(() => proxy.close())
  const server = await startServer(t, { S3_ENDPOINT: proxy.endpoint })
  const { port } = new URL(server.base)
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  t.teardown(() => agent.destroy())
  const auth = bearer('alice').authorization

  function send (n: number): Promise<Outcome> {
    // A mix of calls that reach S3 (reading records that are not there: 404) and calls that do not (a malformed id: 400),
    // each with a path of its own so the server's log (one line per answered request) says whether it handled it.
    const id = `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`
    const url = [`/files/${id}`, `/files/not-a-file-id-${n}`, `/files/download/${id}`, `/files/not-a-file-id-${n}`][n % 4] ?? `/files/${id}`
    return new Promise((resolve) => {
      let responded = false
      const req = request({
        agent, host: '127.0.0.1', port, method: 'GET', path: url, headers: { authorization: auth },
      }, (res) => {
        responded = true
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ url, kind: 'truncated', code: err.code ?? err.message }))
        res.on('end', () => {
          if (!res.complete) return resolve({ url, kind: 'truncated', code: 'incomplete' })
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string }
            resolve({ url, kind: 'complete', status: res.statusCode ?? 0, body: parsed, at: performance.now() })
          } catch {
            resolve({ url, kind: 'truncated', code: 'unparsable body' })
          }
        })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!responded) resolve({ url, kind: 'not-accepted', code: err.code ?? err.message })
      })
      req.end()
    })
  }

  const outcomes: Outcome[] = []
  const all = Array.from({ length: REQUESTS }, (_, n) => send(n).then((o) => { outcomes.push(o); return o }))
  while (outcomes.length < REQUESTS / 4) await new Promise((resolve) => setTimeout(resolve, 5))
  proxy.stall()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const signalledAt = performance.now()
  server.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 500))
  const resumedAt = performance.now()
  proxy.resume()
  const results = await Promise.all(all)
  const exit = await server.exited
  const closedAt = performance.now()

  const complete = results.filter((o) => o.kind === 'complete')
  const notAccepted = results.filter((o) => o.kind === 'not-accepted')
  const truncated = results.filter((o) => o.kind === 'truncated')
  const statuses = complete.reduce<Record<number, number>>((counts, o) => ({ ...counts, [o.status]: (counts[o.status] ?? 0) + 1 }), {})
  t.comment(`${complete.length} complete (${JSON.stringify(statuses)}), ${notAccepted.length} not accepted (${[...new Set(notAccepted.map((o) => o.code))].join(', ')}), ${truncated.length} truncated; exit ${exit.code} ${Math.round(closedAt - signalledAt)} ms after SIGTERM`)

  t.same(exit, { code: 0, signal: null }, 'the process exits 0')
  t.same(truncated, [], 'no response was cut off mid-way')
  t.ok(Object.keys(statuses).every((s) => ['400', '404', '503'].includes(s)), 'every complete answer is the normal one (400 for a malformed id, 404 for a missing record), or 503')
  t.same(complete.filter((o) => o.status === 503 && o.body.code !== undefined), [], 'each 503 is the closing server\'s, not a storage failure')
  t.ok(complete.some((o) => o.at > resumedAt && o.status !== 503), 'requests in flight at SIGTERM were finished after it, normally')
  t.ok(complete.filter((o) => o.at < signalledAt).length >= REQUESTS / 4, 'the burst was under way before the signal')
  // A request the client saw refused or dropped must never have been handled: the server logs each one it answers.
  const handled = new Set([...server.output().matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]))
  t.ok(handled.size >= complete.filter((o) => o.status !== 503).length, 'the log names every request answered normally')
  t.same(notAccepted.filter((o) => handled.has(o.url)), [], 'no request the server handled went unanswered')
  t.match(server.output(), /"msg":"closing"/, 'it logged a graceful close')
})
