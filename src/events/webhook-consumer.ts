// The webhook consumer: delivers each event to one URL as a Standard Webhooks request; 2xx is success, anything else a failure to retry.
import { createHash } from 'node:crypto'
import { Agent } from 'undici'
import type { Consumer } from './consumer.js'
import { RetryLater } from './consumer.js'
import { EVENT_TYPES, webhookPayload } from './event-model.js'
import { createWebhookSigner } from './webhook-signature.js'

export interface WebhookTarget {
  readonly url: string
  readonly secrets: readonly string[]
  readonly timeoutMs: number
  readonly retryDelaysMs: readonly number[]
  readonly now?: () => number
}

/** The consumer's name: stable for a URL, so its progress survives restarts, and it names no secret path or query. */
export function webhookConsumerName (url: string): string {
  return `webhook-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`
}

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs (header: string | null, now: number): number | undefined {
  if (header === null) return undefined
  const text = header.trim()
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Why a request failed, for logs and dead letters: the network error's code rather than fetch's "fetch failed". */
function describeFailure (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.name === 'TimeoutError') return 'the receiver did not answer in time'
  const cause = error.cause
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : undefined
  return code === undefined ? error.message : `${error.message} (${code})`
}

export function webhookConsumer ({ url, secrets, timeoutMs, retryDelaysMs, now = Date.now }: WebhookTarget): Consumer {
  const sign = createWebhookSigner(secrets)
  const target = new URL(url)
  const path = `${target.pathname}${target.search}`
  // undici's request API on a pool of its own rather than fetch: it follows no redirect (it has no such option set) and
  // costs a fraction of fetch's CPU per delivery (the Response, Headers and stream objects fetch builds).
  const agent = new Agent({ connections: 32, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000, connect: { timeout: timeoutMs } })
  return {
    name: webhookConsumerName(url),
    types: EVENT_TYPES,
    retryDelaysMs,
    attemptTimeoutMs: timeoutMs,
    async handle (event, { signal }) {
      const body = webhookPayload(event)
      // Signed per attempt: receivers refuse timestamps far from their clock (Standard Webhooks: 5 minutes).
      const timestamp = Math.floor(now() / 1000)
      let status: number
      let retryAfter: string | null
      try {
        // A redirect could send a signed event somewhere the configuration never named: it is not followed, but a failure.
        const response = await agent.request({
          origin: target.origin,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'filegate-webhooks',
            'webhook-id': event.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': sign(event.id, timestamp, body),
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        })
        status = response.statusCode
        const header = response.headers['retry-after']
        retryAfter = typeof header === 'string' ? header : null
        // The body is not needed; reading it to the end frees the connection for the next delivery.
        await response.body.dump()
      } catch (error) {
        throw new Error(`POST ${target.origin} failed: ${describeFailure(error)}`, { cause: error })
      }
      if (status >= 200 && status < 300) return
      const what = `the receiver answered ${status}${status >= 300 && status < 400 ? ' (a redirect, not followed)' : ''}`
      if (status === 429 || status === 503) {
        const wait = retryAfterMs(retryAfter, now())
        if (wait !== undefined) throw new RetryLater(`${what}, Retry-After ${Math.round(wait / 1000)} s`, wait)
      }
      throw new Error(what)
    },
  }
}
