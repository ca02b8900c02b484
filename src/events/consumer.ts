// The consumer interface: a named piece of work the job runner does once per outbox event (webhook delivery, a virus scan, variants).
import type { EventType, FileEvent } from './event-model.js'

/** What a consumer is told about the attempt it is making. */
export interface AttemptContext {
  /** 1 for the first attempt at this event, 2 for the first retry, and so on. */
  readonly attempt: number
  /** The attempts this consumer gets in all; the last one that fails puts the event in the dead-letter prefix. */
  readonly maxAttempts: number
  /** Aborted when the process is closing: stop and throw, and the attempt is made again later (it is not counted). */
  readonly signal: AbortSignal
}

/**
 * A named consumer of outbox events. The runner calls `handle` for each event whose type is in `types`, at least once
 * per event (an attempt cut short by a crash is made again), never for two attempts at the same event at the same
 * moment across processes (claims are conditional writes) where the store has conditional writes. Resolving means done;
 * throwing means retry on the consumer's schedule (`RetryLater` sets the delay, `GiveUp` dead-letters at once).
 * Progress (done, attempts, dead) is kept in the bucket per consumer name, so it survives restarts: keep names stable.
 */
export interface Consumer {
  /** Stable and unique: 1–64 of a-z, 0-9 and '-'. Names the consumer's marks and dead letters in the bucket. */
  readonly name: string
  /** The event types this consumer wants; others never reach it. */
  readonly types: readonly EventType[]
  /** Delays before each retry, in ms: `[5000, 300000]` means 3 attempts in all. Defaults to the runner's schedule. */
  readonly retryDelaysMs?: readonly number[]
  /**
   * The longest one attempt can take (the consumer gives up by itself after it), if it is bounded: for every event, or
   * for each event (undefined for one whose attempts are not bounded). With a bound, the runner may deliver its own
   * process's fresh events without claiming them (see the job runner); without one, it always claims.
   */
  readonly attemptTimeoutMs?: number | ((event: FileEvent) => number | undefined)
  handle (event: FileEvent, context: AttemptContext): Promise<void>
}

/** Throw from `handle` to be tried again after `delayMs` (a receiver's Retry-After, say), instead of the schedule's next delay. */
export class RetryLater extends Error {
  override name = 'RetryLater'
  constructor (message: string, readonly delayMs: number) {
    super(message)
  }
}

/** Throw from `handle` when retrying cannot help: the event goes to the dead-letter prefix at once. */
export class GiveUp extends Error {
  override name = 'GiveUp'
}

export const CONSUMER_NAME_PATTERN = /^[a-z0-9-]{1,64}$/
