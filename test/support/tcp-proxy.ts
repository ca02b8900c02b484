// A small TCP proxy in front of the test S3, so a test can take "S3" away (refuse or stall) without touching the shared gateway.
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly endpoint: string
  readonly host: string
  readonly port: number
  /** Connections accepted so far (a client that keeps its connections alive opens few). */
  readonly accepted: number
  /** Refuse connections, as a stopped store does. */
  stop (): Promise<void>
  /** Accept and forward again, on the same port. */
  start (): Promise<void>
  /** Accept connections but forward nothing, as a frozen store does. */
  stall (): void
  resume (): void
  close (): Promise<void>
}

/**
 * A proxy to `target` (a URL; only its host and port are used). `intercept` may take a connection itself (answer it,
 * stall it) and return true; the others are forwarded.
 */
export async function startTcpProxy (target: string, { intercept }: { intercept?: (client: Socket) => boolean } = {}): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target)
  const sockets = new Set<Socket>()
  const held: Array<() => void> = []
  let stalled = false
  let server: Server | undefined
  let port = 0
  let accepted = 0

  function forward (client: Socket): void {
    const upstream = connect(Number(targetPort), hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  }

  async function listen (): Promise<void> {
    server = createServer((client) => {
      accepted++
      sockets.add(client)
      client.on('close', () => sockets.delete(client))
      client.on('error', () => client.destroy())
      if (intercept?.(client) === true) return
      if (stalled) {
        client.pause()
        held.push(() => { client.resume(); forward(client) })
      } else {
        forward(client)
      }
    })
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject)
      server?.listen(port, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    if (address !== null && typeof address === 'object') port = address.port
  }

  async function stop (): Promise<void> {
    const closing = new Promise<void>((resolve) => {
      if (server === undefined) resolve()
      else server.close(() => resolve())
    })
    for (const s of sockets) s.destroy()
    held.length = 0
    await closing
    server = undefined
  }

  await listen()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    get port () { return port },
    get accepted () { return accepted },
    stop,
    start: listen,
    stall () {
      stalled = true
      // Existing keep-alive connections must stall too: drop them so the next request opens a held one.
      for (const s of sockets) s.destroy()
    },
    resume () {
      stalled = false
      for (const release of held.splice(0)) release()
    },
    close: stop,
  }
}
