// The claim keeper: renews a dispatcher's claim on an event while its consumers run, so a long job is not taken over.
import type { JobStore } from './job-store.js'
import type { RunnerLog } from './job-runner.js'

/**
 * A claim is renewed this often (as a share of the lease) while its consumers run, so a job longer than the lease (a
 * scan of a large file) is not taken over and run a second time by another dispatcher; a dispatcher that dies stops
 * renewing, and its claim ends at most one lease after its last renewal.
 */
const RENEWALS_PER_LEASE = 3

export interface ClaimKeeperOptions {
  readonly jobs: JobStore
  /** This dispatcher's name in the states it writes. */
  readonly holder: string
  readonly leaseMs: number
  readonly log: RunnerLog
  /** Aborted when the runner closes: a failed renewal is not worth a warning then. */
  readonly closing: AbortSignal
  readonly now: () => number
}

export interface KeptClaim {
  /** The claim's end as last written. */
  readonly until: () => number
  /** Stops renewing, and waits for a renewal under way (so it cannot write the claim back after a release). */
  stop (): Promise<void>
}

/**
 * Keeps this dispatcher's claim on an event while its consumers run: every lease / RENEWALS_PER_LEASE, the state is
 * read and, if this dispatcher still holds it, written again with a new end, conditionally on the state read (so a
 * dispatcher that took the event over meanwhile is never overwritten). `firstUntil` is the end the claim was taken with.
 */
export function keepClaim ({ jobs, holder, leaseMs, log, closing, now }: ClaimKeeperOptions, eventId: string, firstUntil: number): KeptClaim {
  let until = firstUntil
  let stopped = false
  let renewing: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  const renew = async (): Promise<void> => {
    try {
      const read = await jobs.readState(eventId)
      if (stopped) return
      if (read === undefined || read.state.holder !== holder) {
        log.warn({ eventId }, 'the claim on an event was lost while its consumers ran; another dispatcher may run it again')
        stopped = true
        return
      }
      const next = now() + leaseMs
      if (await jobs.takeState(eventId, { ...read.state, until: next }, read.etag)) until = next
    } catch (error) {
      // The next renewal tries again; the claim holds until `until` meanwhile.
      if (!closing.aborted) log.warn({ err: error, eventId }, 'renewing the claim on an event failed')
    }
  }
  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(() => {
      renewing = renew().finally(() => {
        renewing = undefined
        schedule()
      })
    }, Math.max(1, Math.floor(leaseMs / RENEWALS_PER_LEASE)))
    timer.unref()
  }
  schedule()
  return {
    until: () => until,
    async stop () {
      stopped = true
      clearTimeout(timer)
      await renewing
    },
  }
}
