// A program a test runs beside it (clamd, redis-server, haproxy, filegate itself): spawned with its output kept, waited for until it answers, stopped for good.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export interface TestChild {
  readonly child: ChildProcess
  /** The last `keep` characters the process wrote to stdout and stderr. */
  output (): string
}

export function spawnTestChild (command: string, args: readonly string[], options: SpawnOptions & { keep?: number } = {}): TestChild {
  const { keep = 4000, ...spawnOptions } = options
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions })
  let output = ''
  const add = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-keep) }
  child.stdout?.on('data', add)
  child.stderr?.on('data', add)
  return { child, output: () => output }
}

/** Polls `answers` until it holds; throws, with the process's output, when it exits first or the deadline passes. */
export async function waitUntilAnswering (started: TestChild, what: string, answers: () => Promise<boolean>, { deadlineMs, intervalMs = 100 }: { deadlineMs: number, intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!(await answers())) {
    if (started.child.exitCode !== null) throw new Error(`${what} exited with ${started.child.exitCode}:\n${started.output()}`)
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${deadlineMs} ms:\n${started.output()}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/**
 * Sends `signal` (SIGCONT first, so a frozen process can act on it) and waits until the process has exited, with
 * SIGKILL after `killAfterMs`; nothing when it is not running.
 */
export async function stopTestChild (running: ChildProcess | undefined, { signal = 'SIGTERM', killAfterMs = 10_000 }: { signal?: NodeJS.Signals, killAfterMs?: number } = {}): Promise<void> {
  if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
  const exited = new Promise((resolve) => running.once('exit', resolve))
  running.kill('SIGCONT')
  running.kill(signal)
  const killed = setTimeout(() => running.kill('SIGKILL'), killAfterMs)
  await exited
  clearTimeout(killed)
}
