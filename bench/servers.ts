// Starting and stopping the servers under test as child processes, pinned to one core, and reading their memory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBundle } from '../scripts/build.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where `buildForBench` bundles filegate and compiles src/ (for profiles) and the bench's own servers: inside node_modules, so packages resolve as from the root. */
export const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'filegate-bench')
/** filegate's bundle, built exactly as `npm run build` builds dist/server.js for production. */
export const FILEGATE_ENTRY = join(BUILD_DIR, 'dist', 'server.js')

/**
 * Bundles filegate as `npm run build` does for production, and compiles the reference server and the signing bench
 * to plain JavaScript, so that start-up, memory and CPU are not a TypeScript loader's. Type errors elsewhere in a
 * work tree stop neither.
 */
export async function buildForBench (): Promise<{ readonly ms: number, readonly diagnostics: string }> {
  const started = performance.now()
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'bench', 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })
  for (const file of ['src/server.js', 'bench/reference-server.js', 'bench/signing.js']) {
    if (!existsSync(join(BUILD_DIR, file))) throw new Error(`the bench build wrote no ${file}:\n${tsc.stdout}${tsc.stderr}`)
  }
  writeFileSync(join(BUILD_DIR, 'package.json'), '{ "type": "module", "private": true }\n')
  await buildBundle(dirname(FILEGATE_ENTRY))
  return { ms: performance.now() - started, diagnostics: tsc.status === 0 ? '' : tsc.stdout.trim() }
}

/** The node options of the Dockerfile's CMD, between `node` and the entry: the bench runs filegate as production does. */
export function productionNodeOptions (): string[] {
  const lines = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^CMD\s+(\[.*\])\s*$/gm)]
  const argv: unknown = JSON.parse(lines.at(-1)?.[1] ?? 'null')
  if (!Array.isArray(argv) || argv[0] !== 'node' || argv.at(-1) !== 'dist/server.js') throw new Error('the Dockerfile has no CMD ["node", …, "dist/server.js"]')
  return argv.slice(1, -1).map(String)
}

export interface Server {
  readonly name: string
  readonly base: string
  readonly pid: number
  /** Milliseconds from spawn to the readiness URL answering 200. */
  readonly readyMs: number
  stop (): Promise<void>
}

export const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0

/** Pins a running process (the load generator: this one) to a core. */
export function pinProcess (pid: number, core: number): boolean {
  return hasTaskset && spawnSync('taskset', ['-pc', String(core), String(pid)], { stdio: 'ignore' }).status === 0
}


/** Resident memory of a process in bytes (Linux), or NaN. */
export function rssBytes (pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** CPU time (user + system, all threads) a process has used so far, in seconds (Linux), or NaN. */
export function cpuSeconds (pid: number): number {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state (field 3), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitUntilReady (url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with code ${child.exitCode}`)
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(async (res) => { await res.arrayBuffer(); return res.status === 200 }, () => false)
    if (ok) return
    await sleep(5)
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
}

/**
 * Spawns `node <args>` on `core` (when taskset exists) and waits for `readyPath` to answer 200.
 * Its stdout goes to /dev/null: the server still formats and writes every log line, as in production.
 */
export async function startServer ({ name, args, env, port, readyPath, core, timeoutMs = 30_000 }: {
  name: string, args: string[], env: NodeJS.ProcessEnv, port: number, readyPath: string, core: number | undefined, timeoutMs?: number
}): Promise<Server> {
  const command = hasTaskset && core !== undefined ? ['taskset', '-c', String(core), process.execPath, ...args] : [process.execPath, ...args]
  const [file = process.execPath, ...rest] = command
  const started = performance.now()
  const child = spawn(file, rest, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-8192) })
  const base = `http://127.0.0.1:${port}`
  try {
    await waitUntilReady(base + readyPath, child, timeoutMs)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`${name} did not start: ${error instanceof Error ? error.message : String(error)}\n${stderr}`, { cause: error })
  }
  const readyMs = performance.now() - started
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    name,
    base,
    pid: child.pid ?? -1,
    readyMs,
    async stop () {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}
