// Retries with exponential backoff and jitter: waits that an abort cuts short.
import { abortError, throwIfAborted } from './errors.js'

/** The wait before retry `attempt` (1-based): 0.5 s doubling to at most 10 s, with up to a quarter more at random. */
export function backoffDelay (attempt: number, baseMs = 500, maxMs = 10_000): number {
  const delay = Math.min(maxMs, baseMs * 2 ** (attempt - 1))
  return delay + Math.random() * delay / 4
}

export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError())
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Runs `attempt` until it succeeds, it fails in a way `retryable` refuses, or `retries` retries are spent. */
export async function withRetries<T> (attempt: () => Promise<T>, { retries, signal, retryable }: { retries: number, signal?: AbortSignal | undefined, retryable: (error: unknown) => boolean }): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt()
    } catch (error) {
      if (retry >= retries || !retryable(error) || signal?.aborted === true) throw error
      await sleep(backoffDelay(retry + 1), signal)
    }
  }
}
