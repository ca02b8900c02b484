// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time by function, and by package.
import { readFileSync } from 'node:fs'

interface CallFrame { readonly functionName: string, readonly url: string, readonly lineNumber: number }
interface ProfileNode { readonly id: number, readonly callFrame: CallFrame }
interface CpuProfile { readonly nodes: readonly ProfileNode[], readonly startTime: number, readonly samples: readonly number[], readonly timeDeltas: readonly number[] }

export interface ProfileLine { readonly name: string, readonly percent: number }
export interface ProfileSummary { readonly functions: readonly ProfileLine[], readonly packages: readonly ProfileLine[], readonly totalMs: number }

function isProfile (value: unknown): value is CpuProfile {
  return typeof value === 'object' && value !== null && Array.isArray((value as CpuProfile).nodes) && Array.isArray((value as CpuProfile).samples) && Array.isArray((value as CpuProfile).timeDeltas)
}

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
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  let total = 0
  let elapsed = 0
  parsed.samples.forEach((id, i) => {
    const node = byId.get(id)
    const dt = parsed.timeDeltas[i] ?? 0
    elapsed += dt
    if (node === undefined || elapsed < skipMs * 1000) return
    const f = node.callFrame
    const where = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/src\//, 'src/')
    const name = `${f.functionName || '(anonymous)'} ${where}${where === '' ? '' : `:${f.lineNumber + 1}`}`
    fn.set(name, (fn.get(name) ?? 0) + dt)
    pkg.set(ownerOf(f), (pkg.get(ownerOf(f)) ?? 0) + dt)
    total += dt
  })
  const lines = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, t]) => ({ name, percent: 100 * t / total }))
  return { functions: lines(fn), packages: lines(pkg), totalMs: total / 1000 }
}

if (process.argv[1] !== undefined && process.argv[1].endsWith('cpu-profile.ts') && process.argv[2] !== undefined) {
  const summary = summarizeProfile(process.argv[2], { top: Number(process.argv[3] ?? 30), skipMs: Number(process.argv[4] ?? 0) })
  for (const line of summary.packages) process.stdout.write(`${line.percent.toFixed(1).padStart(5)} %  ${line.name}\n`)
  process.stdout.write('\n')
  for (const line of summary.functions) process.stdout.write(`${line.percent.toFixed(1).padStart(5)} %  ${line.name}\n`)
}
