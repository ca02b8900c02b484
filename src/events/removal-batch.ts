// The removal batch: delivered events that never had a claim, removed together in one DeleteObjects instead of one DELETE each.
import type { JobStore } from './job-store.js'
import type { RunnerLog } from './job-runner.js'

/**
 * Events are removed at most this long after the first of a batch. Far below any allowed grace, so the poll does not
 * meet them first; if a batch fails, its events stay in the outbox with their marks, and the poll finishes them
 * without delivering them again.
 */
const REMOVAL_BATCH_MS = 200
/** S3's limit on one DeleteObjects. */
const REMOVAL_BATCH_MAX = 1000

export interface RemovalBatch {
  /** An event every consumer has marked, to remove in the next batch. */
  add (eventId: string): void
  /** Whether the event is waiting for its removal, or in a removal under way. */
  has (eventId: string): boolean
  /** Events waiting or being removed. */
  readonly size: number
  /** Removes everything still waiting, batch after batch, and waits for it (on close). */
  drain (): Promise<void>
}

/** `track` is told of each removal started by the timer, so that closing can wait for it. */
export function createRemovalBatch ({ jobs, log, track }: { readonly jobs: JobStore, readonly log: RunnerLog, readonly track: (removal: Promise<void>) => void }): RemovalBatch {
  const waiting = new Set<string>()
  const removing = new Set<string>()
  let timer: NodeJS.Timeout | undefined

  /** Removes the events waiting, up to one DeleteObjects' worth, and waits for that. */
  async function flush (): Promise<void> {
    clearTimeout(timer)
    timer = undefined
    const batch = [...waiting].slice(0, REMOVAL_BATCH_MAX)
    if (batch.length === 0) return
    for (const id of batch) {
      waiting.delete(id)
      removing.add(id)
    }
    try {
      const failed = await jobs.removeEvents(batch)
      if (failed.length > 0) log.warn({ eventIds: failed.slice(0, 10), failed: failed.length }, 'delivered events could not be removed; the outbox poll finishes them')
    } catch (error) {
      log.warn({ err: error, events: batch.length }, 'removing delivered events failed; the outbox poll finishes them')
    } finally {
      for (const id of batch) removing.delete(id)
    }
    if (waiting.size > 0) schedule()
  }

  function schedule (): void {
    if (waiting.size >= REMOVAL_BATCH_MAX) {
      track(flush())
      return
    }
    if (timer !== undefined) return
    timer = setTimeout(() => track(flush()), REMOVAL_BATCH_MS)
    timer.unref()
  }

  return {
    add (eventId) {
      waiting.add(eventId)
      schedule()
    },
    has: (eventId) => waiting.has(eventId) || removing.has(eventId),
    get size () {
      return waiting.size + removing.size
    },
    async drain () {
      while (waiting.size > 0) await flush()
    },
  }
}
