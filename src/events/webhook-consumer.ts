// The webhook consumer: delivers each event to one URL as a Standard Webhooks request; 2xx is success, anything else a failure to retry.
import { createHash } from 'node:crypto'
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
  return {
    name: webhookConsumerName(url),
    types: EVENT_TYPES,
    retryDelaysMs,
    async handle (event, { signal }) {
      const body = webhookPayload(event)
      // Signed per attempt: receivers refuse timestamps far from their clock (Standard Webhooks: 5 minutes).
      const timestamp = Math.floor(now() / 1000)
      let response: Response
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'filegate-webhooks',
            'webhook-id': event.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': sign(event.id, timestamp, body),
          },
          body,
          // A redirect could send a signed event somewhere the configuration never named: it is a failure.
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        })
      } catch (error) {
        throw new Error(`POST ${new URL(url).origin} failed: ${describeFailure(error)}`, { cause: error })
      }
      // The body is not needed; dropping it frees the connection for the next delivery.
      await response.body?.cancel().catch(() => undefined)
      const status = response.status
      if (status >= 200 && status < 300) return
      const what = `the receiver answered ${status}${status >= 300 && status < 400 ? ' (a redirect, not followed)' : ''}`
      if (status === 429 || status === 503) {
        const wait = retryAfterMs(response.headers.get('retry-after'), now())
        if (wait !== undefined) throw new RetryLater(`${what}, Retry-After ${Math.round(wait / 1000)} s`, wait)
      }
      throw new Error(what)
    },
  }
}
