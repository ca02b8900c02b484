// Debian's HAProxy for one test, on 127.0.0.1: round robin over filegate instances, health checks on /ready, one log line per request.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from '../helper.js'
import { waitUntilAnswering } from './child-process.js'

/**
 * One request as HAProxy logged it: which server answered (or `<NOSRV>`), the status, how the session ended, and its
 * retries (`+1` when it was sent again to another server, as the requests of a server that died while handling them are).
 */
export interface ProxyLogLine { readonly server: string, readonly status: number, readonly termination: string, readonly retries: string, readonly method: string, readonly path: string }

export interface TestHaproxy {
  readonly base: string
  /** Every request HAProxy has logged so far. */
  requests (): ProxyLogLine[]
  /** Waits (bounded) until HAProxy's health checks say `server` is up (or down). */
  waitFor (server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>
}

/**
 * Checks /ready every second, each given 5 s (a busy machine answers slowly; a dead process refuses at once): two
 * failures take a server out, two successes bring it back.
 */
function configFor (port: number, statsPort: number, servers: ReadonlyArray<{ name: string, port: number }>): string {
  return [
    'global',
    '  log stdout format raw local0',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  log global',
    // Parsed by requests(): server, status, termination state, retries, method, path.
    '  log-format "req %s %ST %tsc %rc %HM %HP"',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout check 5s',
    '  retries 2',
    '  option redispatch',
    // A request whose server died before answering is sent to another one (every filegate route is safe to repeat).
    '  retry-on conn-failure empty-response junk-response',
    '  option forwardfor',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend filegate',
    'backend filegate',
    '  balance roundrobin',
    '  option httpchk GET /ready',
    '  http-check expect status 200',
    '  http-response set-header x-served-by %s',
    '  default-server inter 1s fall 2 rise 2',
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`),
    'frontend stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n')
}

export async function startHaproxy (t: Test, servers: ReadonlyArray<{ name: string, port: number }>): Promise<TestHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'filegate-haproxy-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const port = await freePort()
  const statsPort = await freePort()
  const file = join(dir, 'haproxy.cfg')
  await writeFile(file, configFor(port, statsPort, servers))
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  let output = ''
  const lines: ProxyLogLine[] = []
  let partial = ''
  const onText = (text: string) => {
    output = (output + text).slice(-20_000)
    partial += text
    const complete = partial.split('\n')
    partial = complete.pop() ?? ''
    for (const line of complete) {
      const request = /^req (\S+) (-?\d+) (\S+) (\S+) (\S+) (\S+)$/.exec(line)
      if (request !== null) {
        const [, server = '', status = '', termination = '', retries = '', method = '', path = ''] = request
        lines.push({ server: server.replace(/^filegate\//, ''), status: Number(status), termination, retries, method, path })
      }
    }
  }
  child.stdout.on('data', (chunk: Buffer) => onText(chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => onText(chunk.toString()))

  const base = `http://127.0.0.1:${port}`
  await waitUntilAnswering({ child, output: () => output }, 'haproxy', async () => await fetch(`${base}/health`).then(() => true, () => false), { deadlineMs: 15_000, intervalMs: 50 })
  return {
    base,
    requests: () => [...lines],
    async waitFor (server, state, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs
      // The CSV stats: pxname, svname, ... and the 18th column, status ("UP", "DOWN", "UP 1/2" while rising...).
      const stateOf = async () => {
        const csv = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`).then(async (r) => await r.text(), () => '')
        return csv.split('\n').map((line) => line.split(',')).find((f) => f[0] === 'filegate' && f[1] === server)?.[17]
      }
      while (await stateOf() !== state) {
        if (Date.now() > until) throw new Error(`haproxy did not see ${server} ${state} within ${timeoutMs} ms:\n${output.slice(-3000)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
  }
}
