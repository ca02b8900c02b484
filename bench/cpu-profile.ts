// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: by concern (walking up each sample's stack), by package and by function.
import { readFileSync } from 'node:fs'

interface CallFrame { readonly functionName: string, readonly url: string, readonly lineNumber: number }
interface ProfileNode { readonly id: number, readonly callFrame: CallFrame, readonly children?: readonly number[] }
interface CpuProfile { readonly nodes: readonly ProfileNode[], readonly startTime: number, readonly samples: readonly number[], readonly timeDeltas: readonly number[] }

export interface ProfileLine { readonly name: string, readonly percent: number }
export interface ProfileSummary {
  /** Self time grouped by what the code is for; a sample belongs to the nearest frame on its stack that names a concern. */
  readonly concerns: readonly ProfileLine[]
  readonly packages: readonly ProfileLine[]
  readonly functions: readonly ProfileLine[]
  readonly totalMs: number
}

function isProfile (value: unknown): value is CpuProfile {
  return typeof value === 'object' && value !== null && Array.isArray((value as CpuProfile).nodes) && Array.isArray((value as CpuProfile).samples) && Array.isArray((value as CpuProfile).timeDeltas)
}

const isFilegate = (url: string, file: string) => url.includes(`/src/${file}`) && (url.includes('/filegate-bench/') || !url.includes('node_modules'))

const OTHER = 'HTTP, Fastify and the rest'
/**
 * Fastify runs each hook and handler, and a hook that calls done() runs everything after it on its own stack:
 * the walk up a stack stops at Fastify's frames, so that work is Fastify's, not the hook's.
 */
const isFramework = (f: CallFrame) => /node_modules\/(fastify|find-my-way|avvio|light-my-request)\//.test(f.url)
const S3_CALLS = 'S3 calls (AWS SDK)'
const SIGNING = 'signing (presigner: policy, HMAC, base64)'
/** The concerns of a request, each recognised by the code that does it; the first that matches a frame wins. */
const CONCERNS: ReadonlyArray<readonly [string, (f: CallFrame) => boolean]> = [
  ['JWT verification (fast-jwt, @fastify/jwt, auth hook)', (f) => /node_modules\/(fast-jwt|@fastify\/jwt)\//.test(f.url) || isFilegate(f.url, 'plugins/auth') || isFilegate(f.url, 'plugins/optional-auth')],
  [SIGNING, (f) => isFilegate(f.url, 'storage/presigner')],
  ['upload service (checks, key, metadata, id)', (f) => isFilegate(f.url, 'uploads/')],
  ['logging (pino, redaction, scrubbing, write)', (f) => /node_modules\/(pino|@pinojs\/redact|sonic-boom|quick-format-unescaped|pino-std-serializers)\//.test(f.url) || isFilegate(f.url, 'log-redaction')],
  ['security headers', (f) => isFilegate(f.url, 'plugins/security-headers') || /node_modules\/(helmet|@fastify\/helmet)\//.test(f.url)],
  ['rate limiting', (f) => /node_modules\/(@fastify\/rate-limit|toad-cache)\//.test(f.url)],
  ['CORS', (f) => /node_modules\/@fastify\/cors\//.test(f.url)],
  ['JSON body parsing', (f) => /node_modules\/secure-json-parse\//.test(f.url)],
  ['response serialization', (f) => /node_modules\/fast-json-stringify\//.test(f.url)],
  [S3_CALLS, (f) => /node_modules\/(@aws-sdk|@smithy)\//.test(f.url)],
]

/** Where a frame's code lives: a package name, `filegate` for our own source, `node` for Node's internals, or V8's own labels. */
function ownerOf (frame: CallFrame): string {
  const url = frame.url
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)'
  if (url.includes('/filegate-bench/src/') || (url.includes('/src/') && !url.includes('node_modules'))) return 'filegate'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg?.[1] !== undefined) return pkg[1]
  if (url.startsWith('node:')) return 'node'
  return url
}

/** `skipMs`: leave out the first milliseconds of the profile (start-up, module loading), to see the steady state. */
export function summarizeProfile (file: string, { top = 25, skipMs = 0 }: { top?: number, skipMs?: number } = {}): ProfileSummary {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (!isProfile(parsed)) throw new Error(`${file} is not a V8 CPU profile`)
  const byId = new Map(parsed.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const node of parsed.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const concernCache = new Map<number, string>()
  const concernOf = (id: number): string => {
    const cached = concernCache.get(id)
    if (cached !== undefined) return cached
    const node = byId.get(id)
    const name = node?.callFrame.functionName ?? ''
    let concern: string
    if (node === undefined) concern = OTHER
    else if (name === '(garbage collector)' || name === '(idle)' || name === '(program)') concern = name
    else {
      const own = CONCERNS.find(([, matches]) => matches(node.callFrame))?.[0]
      const up = parent.get(id)
      const above = up === undefined || isFramework(node.callFrame) ? OTHER : concernOf(up)
      // SDK helpers the presigner calls (URI escaping, key derivation) are signing, not S3 calls.
      concern = own === undefined || (own === S3_CALLS && above === SIGNING) ? above : own
    }
    concernCache.set(id, concern)
    return concern
  }

  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  const concerns = new Map<string, number>()
  const add = (m: Map<string, number>, k: string, dt: number) => m.set(k, (m.get(k) ?? 0) + dt)
  let total = 0
  let elapsed = 0
  parsed.samples.forEach((id, i) => {
    const node = byId.get(id)
    const dt = parsed.timeDeltas[i] ?? 0
    elapsed += dt
    if (node === undefined || elapsed < skipMs * 1000) return
    const f = node.callFrame
    const where = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/src\//, 'src/')
    add(fn, `${f.functionName || '(anonymous)'} ${where}${where === '' ? '' : `:${f.lineNumber + 1}`}`, dt)
    add(pkg, ownerOf(f), dt)
    add(concerns, concernOf(id), dt)
    total += dt
  })
  const lines = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, t]) => ({ name, percent: 100 * t / total }))
  return { concerns: lines(concerns, 20), packages: lines(pkg, top), functions: lines(fn, top), totalMs: total / 1000 }
}

if (process.argv[1] !== undefined && process.argv[1].endsWith('cpu-profile.ts') && process.argv[2] !== undefined) {
  const summary = summarizeProfile(process.argv[2], { top: Number(process.argv[3] ?? 30), skipMs: Number(process.argv[4] ?? 0) })
  for (const section of [summary.concerns, summary.packages, summary.functions]) {
    for (const line of section) process.stdout.write(`${line.percent.toFixed(1).padStart(5)} %  ${line.name}\n`)
    process.stdout.write('\n')
  }
}
