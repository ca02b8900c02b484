// An HTTP proxy in front of the test S3 that counts requests and can answer chosen ones itself (a 5xx, a 4xx), to test retries.
import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http'

export interface ProxiedRequest { readonly method: string, readonly path: string }

export interface HttpFaultProxy {
  readonly endpoint: string
  /** Every request that reached the proxy, answered by it or forwarded. */
  readonly requests: ProxiedRequest[]
  /** The next `count` requests are answered with `status` and an S3 XML error `code` (no body to a HEAD), not forwarded. */
  failNext (count: number, status: number, code: string): void
  close (): Promise<void>
}

export async function startHttpFaultProxy (target: string): Promise<HttpFaultProxy> {
  const { hostname, port } = new URL(target)
  const requests: ProxiedRequest[] = []
  const faults: Array<{ status: number, code: string }> = []

  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' })
    const fault = faults.shift()
    if (fault !== undefined) {
      req.resume()
      const body = req.method === 'HEAD' ? '' : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected by the test proxy</Message><RequestId>test</RequestId></Error>`
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) })
      res.end(body)
      return
    }
    // Headers exactly as sent, the Host header included: it is signed.
    const upstream = forward({ hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  server.keepAliveTimeout = 2000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port')
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    failNext (count, status, code) {
      for (let i = 0; i < count; i++) faults.push({ status, code })
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
