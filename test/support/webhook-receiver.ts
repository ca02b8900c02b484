// A real webhook receiver on loopback for events tests: records every request, answers as the test tells it, can go down and come back on the same port.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly at: number
  readonly path: string
}

/** What to answer: a status and optional headers. */
export type Answer = { readonly status: number, readonly headers?: Record<string, string> }

export interface WebhookReceiver {
  readonly url: string
  readonly port: number
  readonly requests: ReceivedRequest[]
  /** Decides each answer (default 204). */
  answer: (request: ReceivedRequest) => Answer
  /** Stops listening: connections are refused until `up()`. */
  down (): Promise<void>
  up (): Promise<void>
  /** Waits (polling, bounded) until `check` holds. */
  until (what: string, check: (requests: ReceivedRequest[]) => boolean, ms?: number): Promise<void>
}

export async function startReceiver (t: Test, path = '/hook'): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = []
  let server: Server | undefined
  let port = 0
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    requests,
    answer: () => ({ status: 204 }),
    async down () {
      const s = server
      server = undefined
      if (s === undefined) return
      s.closeAllConnections()
      await new Promise((resolve) => s.close(resolve))
    },
    async up () {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(), path: req.url ?? '' }
          requests.push(request)
          const { status, headers = {} } = receiver.answer(request)
          res.writeHead(status, headers).end()
        })
      })
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve))
      port = (s.address() as AddressInfo).port
      server = s
    },
    async until (what, check, ms = 60_000) {
      const deadline = Date.now() + ms
      while (!check(requests)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${requests.length} requests so far)`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
  }
  await receiver.up()
  Object.assign(receiver, { url: `http://127.0.0.1:${port}${path}`, port })
  t.teardown(() => receiver.down())
  return receiver
}

/** Two whsec_ secrets for tests (the second for rotation). */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('filegate-test-webhook-secret-0001').toString('base64')}`
export const ROTATED_WEBHOOK_SECRET = `whsec_${Buffer.from('filegate-test-webhook-secret-0002').toString('base64')}`
