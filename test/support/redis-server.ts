// Debian's redis-server for one test, on 127.0.0.1 and a free port, with no persistence; stopped when the test ends.
import type { ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import type { Test } from 'tap'
import { freePort } from '../helper.js'
import { spawnTestChild, stopTestChild, waitUntilAnswering } from './child-process.js'

export interface TestRedis {
  readonly port: number
  /** redis://127.0.0.1:<port> */
  readonly url: string
  /** Stops the server (SIGTERM) and waits until it has exited: connections are refused, and its counters are gone. */
  stop (): Promise<void>
  /** Starts it again on the same port and waits until it answers PING. */
  start (): Promise<void>
  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as with a hung server. */
  freeze (): void
  thaw (): void
}

/** How long the server may take to answer its first PING. */
const START_DEADLINE_MS = 15_000

/** Whether the server at `port` answers PING with PONG within `timeoutMs`. */
async function answersPing (port: number, timeoutMs = 1000): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const done = (ok: boolean) => { socket.destroy(); clearTimeout(timer); resolve(ok) }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => { reply += chunk.toString('latin1'); if (reply.includes('\r\n')) done(reply.startsWith('+PONG')) })
    socket.on('error', () => done(false))
  })
}

export async function startTestRedis (t: Test): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start (): Promise<void> {
    const started = spawnTestChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'])
    child = started.child
    await waitUntilAnswering(started, `redis-server on port ${port}`, async () => await answersPing(port), { deadlineMs: START_DEADLINE_MS, intervalMs: 50 })
  }

  async function stop (): Promise<void> {
    const running = child
    child = undefined
    await stopTestChild(running, { killAfterMs: 5000 })
  }

  t.teardown(stop)
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    freeze: () => { child?.kill('SIGSTOP') },
    thaw: () => { child?.kill('SIGCONT') },
  }
}
