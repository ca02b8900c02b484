// Load generation: autocannon for single routes, and a client loop for the whole upload → S3 → confirm flow.
import autocannon from 'autocannon'

export interface LoadResult {
  /** Completed 2xx responses (or flows) per second. */
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Non-2xx responses, socket errors and timeouts: any of these makes a figure suspect. */
  readonly errors: number
  /** 2xx responses (or flows) in all. */
  readonly completed: number
}

export interface RequestShape {
  readonly method: 'GET' | 'POST'
  /** The request number `i`'s path and headers (a token from the pool, an id of its owner). */
  readonly request: (i: number) => { path: string, headers: Record<string, string> }
  readonly body?: string
}

export interface RouteLoad {
  readonly url: string
  /** One shape, or several that each connection sends in turn (a mixed load). */
  readonly shapes: readonly RequestShape[]
  readonly connections: number
  readonly seconds: number
}

/** Drives routes for a bounded time over loopback. */
export async function driveRoutes ({ url, shapes, connections, seconds }: RouteLoad): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: shapes.map(({ method, request, body }) => {
      let n = 0
      const first = request(0)
      return {
        method,
        path: first.path,
        headers: first.headers,
        ...(body !== undefined && { body }),
        setupRequest: (req: autocannon.Request) => {
          const next = request(n++)
          return { ...req, path: next.path, headers: next.headers }
        },
      }
    }),
  })
  return {
    rps: result['2xx'] / (result.duration || seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    completed: result['2xx'],
  }
}

const percentile = (sorted: readonly number[], p: number) => sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN

export interface Grant { readonly url: string, readonly key: string, readonly fields: Record<string, string>, readonly file_id: string }

/** Checks a grant from filegate's JSON answer. */
export function parseGrant (value: unknown): Grant {
  if (typeof value !== 'object' || value === null) throw new Error('the grant is not an object')
  const { url, key, fields, file_id: fileId } = value as Record<string, unknown>
  if (typeof url !== 'string' || typeof key !== 'string' || typeof fileId !== 'string' || typeof fields !== 'object' || fields === null) throw new Error('the grant lacks url, key, fields or file_id')
  const checked: Record<string, string> = {}
  for (const [name, v] of Object.entries(fields)) {
    if (typeof v !== 'string') throw new Error(`grant field ${name} is not a string`)
    checked[name] = v
  }
  return { url, key, fields: checked, file_id: fileId }
}

/** A real multipart POST to S3: every field first, the file last. */
export async function postToS3 (grant: Grant, body: Uint8Array<ArrayBuffer>, contentType: string): Promise<number> {
  const form = new FormData()
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value)
  form.append('file', new Blob([body], { type: contentType }), 'upload.bin')
  const res = await fetch(grant.url, { method: 'POST', body: form })
  await res.arrayBuffer()
  return res.status
}

/**
 * One whole upload: a grant from filegate, the bytes to S3, the confirm (at `confirmBase`: filegate, or the reference's
 * raw S3 work). Returns the file id, or throws.
 */
export async function uploadFlow (base: string, token: string, body: Uint8Array<ArrayBuffer>, confirmBase = base, confirmTimes?: number[]): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const res = await fetch(`${base}/files/upload-url`, { method: 'POST', headers, body: JSON.stringify({ filename: 'report.txt', content_type: 'text/plain', size: body.length }) })
  if (res.status !== 200) throw new Error(`upload-url answered ${res.status}: ${await res.text()}`)
  const grant = parseGrant(await res.json())
  const stored = await postToS3(grant, body, 'text/plain')
  if (stored !== 204) throw new Error(`S3 answered ${stored} to the POST`)
  const confirmStart = performance.now()
  const confirm = await fetch(confirmBase === base ? `${base}/files/confirm/${grant.key}` : `${confirmBase}/confirm/${grant.key}`, { method: 'POST', headers: { authorization: headers.authorization } })
  const text = await confirm.text()
  if (confirm.status !== 201) throw new Error(`confirm answered ${confirm.status}: ${text}`)
  confirmTimes?.push(performance.now() - confirmStart)
  return grant.file_id
}

/** A flow load's figures, with the confirm request's own latency (request sent → answer read) beside the whole flow's. */
export interface FlowResult extends LoadResult {
  readonly confirmP50Ms: number
  readonly confirmP99Ms: number
}

/** Runs flows and keeps their figures: each flow's whole latency, its confirm's, and the failures. */
function flowRecorder (base: string, confirmBase: string, bytes: number): { run: (token: string) => Promise<void>, result: () => FlowResult } {
  const body = new Uint8Array(bytes).fill(120)
  const latencies: number[] = []
  const confirmTimes: number[] = []
  let errors = 0
  const start = performance.now()
  return {
    async run (token) {
      const t0 = performance.now()
      try {
        await uploadFlow(base, token, body, confirmBase, confirmTimes)
        latencies.push(performance.now() - t0)
      } catch {
        errors++
      }
    },
    result () {
      const elapsed = (performance.now() - start) / 1000
      latencies.sort((a, b) => a - b)
      confirmTimes.sort((a, b) => a - b)
      return {
        rps: latencies.length / elapsed, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), errors, completed: latencies.length,
        confirmP50Ms: percentile(confirmTimes, 0.5), confirmP99Ms: percentile(confirmTimes, 0.99),
      }
    },
  }
}

/** Whole flows per second, `concurrency` at a time, for a bounded time. */
export async function driveFlows ({ base, confirmBase = base, token, concurrency, seconds, bytes }: {
  base: string, confirmBase?: string, token: (i: number) => string, concurrency: number, seconds: number, bytes: number
}): Promise<FlowResult> {
  const flows = flowRecorder(base, confirmBase, bytes)
  let n = 0
  const end = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) await flows.run(token(n++))
  }))
  return flows.result()
}

/**
 * Open loop: flow number i starts `i / perSecond` seconds after the start, whether or not the earlier ones have
 * answered, for `seconds`; then every started flow is awaited. The arrival rate is the load's, not the server's, so
 * the latencies are those of a server that keeps up (unlike driveFlows, which saturates it). rps counts completed
 * flows over the time until the last one answered.
 */
export async function driveOpenFlows ({ base, token, perSecond, seconds, bytes }: {
  base: string, token: (i: number) => string, perSecond: number, seconds: number, bytes: number
}): Promise<FlowResult> {
  const flows = flowRecorder(base, base, bytes)
  const started: Array<Promise<void>> = []
  const start = performance.now()
  const total = Math.floor(perSecond * seconds)
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / perSecond - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    started.push(flows.run(token(i)))
  }
  await Promise.all(started)
  return flows.result()
}
