// Loopback ports for the processes tests and benchmarks start (filegate, RGW, clamd, redis, haproxy).
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'

// Above Ceph's 6800-7300 and the well-known services the tests start (RGW 7480, redis 6379).
const PORTS_FROM = 10_000

// The lowest port the kernel gives outgoing connections (Linux's default range is 32768-60999), read once.
const ephemeralPortsFrom = readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').then((range) => {
  const low = Number(/^\s*(\d+)/.exec(range)?.[1])
  return Number.isInteger(low) && low > PORTS_FROM + 1000 ? low : 32_768
}, () => 32_768)

// Ports handed out by this process, never handed out twice.
const givenPorts = new Set<number>()

/**
 * An unused loopback port for a process about to start, below the kernel's ephemeral range: a port from that range
 * can be taken by any outgoing connection (thousands go to the test S3) between this check and the child's bind,
 * which once failed a CI run with "port … is already in use".
 */
export async function freePort (): Promise<number> {
  const below = await ephemeralPortsFrom
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORTS_FROM + Math.floor(Math.random() * (below - PORTS_FROM))
    if (givenPorts.has(port)) continue
    // Counted as given before the check, so that calls at the same time never both take it.
    givenPorts.add(port)
    const server = createServer()
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (!listening) continue
    await new Promise((resolve) => server.close(resolve))
    return port
  }
  throw new Error(`no free port between ${PORTS_FROM} and ${below}`)
}
