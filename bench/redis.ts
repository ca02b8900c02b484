// The benchmark's Redis (--redis): Debian's redis-server on 127.0.0.1 and a free port, no persistence, stopped at the end.
import { spawn } from 'node:child_process'
import { connect } from 'node:net'

export interface BenchRedis { readonly url: string, stop (): void }

const answersPing = async (port: number): Promise<boolean> => await new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1')
  const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
  socket.setTimeout(1000, () => done(false))
  socket.on('connect', () => socket.write('PING\r\n'))
  socket.on('data', (chunk: Buffer) => done(chunk.toString('latin1').startsWith('+PONG')))
  socket.on('error', () => done(false))
})

export async function startBenchRedis (port: number, core: number | undefined): Promise<BenchRedis> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  // On the servers' core when the bench pins them: Redis's work per check is part of what --redis costs.
  const child = core === undefined ? spawn('redis-server', args, { stdio: 'ignore' }) : spawn('taskset', ['-c', String(core), 'redis-server', ...args], { stdio: 'ignore' })
  const deadline = Date.now() + 15_000
  while (!(await answersPing(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (is it installed? apt-get install redis-server)`)
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 15 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => { child.kill('SIGTERM') } }
}
