// The job runner: takes outbox events (at once from the writer, and by polling the outbox), claims each, and runs every named consumer on it.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { keepClaim } from './claim-keeper.js'
import { CONSUMER_NAME_PATTERN, GiveUp, RetryLater, type Consumer } from './consumer.js'
import { typeOfEvent, type FileEvent } from './event-model.js'
import type { ConsumerProgress, JobState, JobStore } from './job-store.js'
import { createRemovalBatch } from './removal-batch.js'

/** What observers (metrics) hear; `lagMs` is from the change to the end of the attempt. */
export interface RunnerObserver {
  done? (info: { readonly event: FileEvent, readonly consumer: string, readonly attempts: number, readonly lagMs: number }): void
  retried? (info: { readonly event: FileEvent, readonly consumer: string, readonly attempts: number, readonly error: string, readonly delayMs: number }): void
  dead? (info: { readonly event: FileEvent, readonly consumer: string, readonly attempts: number, readonly error: string }): void
  /** The consumer had finished with this event already (a repeated change wrote it again): not run again. */
  dropped? (info: { readonly eventId: string, readonly consumer: string }): void
}

export interface RunnerLog {
  info (object: object, message: string): void
  warn (object: object, message: string): void
  error (object: object, message: string): void
}

export interface JobRunnerOptions {
  readonly jobs: JobStore
  /** Default delays before each retry, in ms (a consumer may have its own). */
  readonly retryDelaysMs: readonly number[]
  /** How long a claim holds: a dispatcher that died holding one is replaced after this. */
  readonly leaseMs: number
  readonly pollIntervalMs: number
  /** The outbox poll leaves younger events to the process that wrote them (it delivers them at once, or removes one whose change lost a race). */
  readonly graceMs: number
  readonly log: RunnerLog
  /** Events worked on at once. */
  readonly concurrency?: number
  readonly now?: () => number
  readonly random?: () => number
}

export interface JobRunner {
  /** Adds a consumer; before the app is ready (every process must have the same consumers). */
  register (consumer: Consumer): void
  readonly consumers: readonly Consumer[]
  addObserver (observer: RunnerObserver): void
  /**
   * The fast path: an event the caller just wrote to the outbox, worked on now, without waiting for a poll. `fresh`: it
   * was written beside its change for the first time (EventCompanion.fresh), so no process can have seen it yet.
   */
  submit (event: FileEvent, options?: { readonly fresh?: boolean }): void
  /** Polls the outbox every poll interval until closed. */
  start (): void
  /** One pass over the outbox: every due event older than the grace (or all, with `ignoreGrace`) is worked on. */
  pollOnce (options?: { ignoreGrace?: boolean }): Promise<void>
  /** Works on one event now, and waits for it. */
  run (eventId: string, event?: FileEvent): Promise<void>
  /** Events waiting in memory or being worked on. */
  readonly busy: number
  close (): Promise<void>
}

/** A claim is released only this long before its lease ends; later, another dispatcher may hold it already. */
const LEASE_MARGIN_MS = 2_000
/** Events the fast path keeps in memory at most; beyond that the poll finds them. */
const MAX_QUEUED = 10_000
/** Outbox keys looked at per poll at most. */
const MAX_PER_POLL = 5_000
/** The longest Retry-After honoured: one day. */
const MAX_RETRY_AFTER_MS = 86_400_000

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error)).slice(0, 500)

export function createJobRunner (options: JobRunnerOptions): JobRunner {
  const { jobs, retryDelaysMs, leaseMs, pollIntervalMs, graceMs, log, concurrency = 8, now = Date.now, random = Math.random } = options
  const holder = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  const consumers: Consumer[] = []
  const observers: RunnerObserver[] = []
  const closing = new AbortController()
  /** Events being worked on in this process. */
  const working = new Set<string>()
  /** When an event is next worth a look (its claim or its next attempt), as far as this process knows. */
  const notBefore = new Map<string, number>()
  const queue: Array<{ eventId: string, event: FileEvent, fresh: boolean }> = []
  const inFlight = new Set<Promise<void>>()
  const track = (promise: Promise<void>): void => {
    inFlight.add(promise)
    void promise.finally(() => inFlight.delete(promise))
  }
  /** Events delivered unclaimed, removed in batches. */
  const removals = createRemovalBatch({ jobs, log, track })
  const claimKeeping = { jobs, holder, leaseMs, log, closing: closing.signal, now }
  let active = 0
  let timer: NodeJS.Timeout | undefined
  let polling: Promise<void> | undefined

  const notify = <K extends keyof RunnerObserver>(kind: K, info: Parameters<NonNullable<RunnerObserver[K]>>[0]): void => {
    for (const observer of observers) {
      try {
        (observer[kind] as ((i: typeof info) => void) | undefined)?.(info)
      } catch (error) {
        log.error({ err: error }, 'an events observer failed')
      }
    }
  }

  const delaysOf = (consumer: Consumer): readonly number[] => consumer.retryDelaysMs ?? retryDelaysMs
  /** The schedule's delay with ±20 % jitter, so that retries of many events do not arrive together. */
  const jittered = (delay: number): number => Math.round(delay * (0.8 + 0.4 * random()))

  function wantedBy (eventId: string): Consumer[] {
    const type = typeOfEvent(eventId)
    return type === undefined ? [] : consumers.filter((c) => c.types.includes(type))
  }

  /** One consumer's attempt at an event; returns its progress, or 'done'. A fresh event cannot have been seen: no mark is looked for. */
  async function attempt (consumer: Consumer, event: FileEvent, progress: ConsumerProgress | undefined, fresh = false): Promise<ConsumerProgress | 'done'> {
    if (!fresh && await jobs.isSeen(consumer.name, event.id)) {
      notify('dropped', { eventId: event.id, consumer: consumer.name })
      return 'done'
    }
    const attempts = (progress?.attempts ?? 0) + 1
    const maxAttempts = delaysOf(consumer).length + 1
    try {
      await consumer.handle(event, { attempt: attempts, maxAttempts, signal: closing.signal })
      await jobs.markSeen(consumer.name, event.id)
      notify('done', { event, consumer: consumer.name, attempts, lagMs: now() - Date.parse(event.timestamp) })
      return 'done'
    } catch (error) {
      const message = messageOf(error)
      // Cut short by shutdown: not the consumer's failure, so not counted; the next holder tries again.
      if (closing.signal.aborted) return { attempts: attempts - 1, next_at: now(), ...(progress?.last_error !== undefined && { last_error: progress.last_error }) }
      if (error instanceof GiveUp || attempts >= maxAttempts) {
        await jobs.putDeadLetter({ consumer: consumer.name, attempts, last_error: message, died_at: new Date(now()).toISOString(), event })
        await jobs.markSeen(consumer.name, event.id)
        log.warn({ eventId: event.id, consumer: consumer.name, attempts, error: message }, 'event dead-lettered: the consumer gave up on it')
        notify('dead', { event, consumer: consumer.name, attempts, error: message })
        return 'done'
      }
      const scheduled = delaysOf(consumer)[attempts - 1] ?? 0
      const delayMs = error instanceof RetryLater ? Math.min(Math.max(0, error.delayMs), MAX_RETRY_AFTER_MS) : jittered(scheduled)
      log.info({ eventId: event.id, consumer: consumer.name, attempts, delayMs, error: message }, 'event attempt failed; retrying later')
      notify('retried', { event, consumer: consumer.name, attempts, error: message, delayMs })
      return { attempts, next_at: now() + delayMs, last_error: message }
    }
  }

  /**
   * A fresh event of this process's own change, delivered without a claim: no other process has seen it, and every poll
   * leaves it alone until it is EVENTS_GRACE old, so while each consumer's attempt is bounded to end (with a margin)
   * before then, nobody else can be working on it. Two S3 calls per event instead of six: no state is read, written
   * or removed, and no mark looked for; only the mark, and the event's removal, batched with other delivered events'
   * (one DeleteObjects for the events delivered within 200 ms, removal-batch.ts). False when not so (a consumer without
   * a bound, or too little of the grace left): then the event is claimed as usual.
   */
  async function deliverUnclaimed (event: FileEvent): Promise<boolean> {
    const wanted = wantedBy(event.id)
    const bounds = wanted.map((c) => typeof c.attemptTimeoutMs === 'function' ? c.attemptTimeoutMs(event) : c.attemptTimeoutMs)
    const longest = Math.max(...bounds.map((b) => b ?? Number.POSITIVE_INFINITY))
    if (wanted.length === 0 || !(now() + longest <= Date.parse(event.timestamp) + graceMs - LEASE_MARGIN_MS)) return false
    const outcomes = await Promise.all(wanted.map(async (c) => [c.name, await attempt(c, event, undefined, true)] as const))
    // Cut short by shutdown: the event stays in the outbox for the poll (the marks of the consumers that finished stand).
    if (closing.signal.aborted) return true
    const done = outcomes.filter(([, outcome]) => outcome === 'done').map(([name]) => name)
    const progress: Record<string, ConsumerProgress> = {}
    for (const [name, outcome] of outcomes) if (outcome !== 'done') progress[name] = outcome
    if (done.length === wanted.length) {
      removals.add(event.id)
      return true
    }
    // A retry is due: from now on the event is claimed like any other, starting from this progress (create-only: should a
    // poll have taken it meanwhile, its state stands).
    await jobs.takeState(event.id, { holder: null, until: 0, done, consumers: progress }, undefined)
    notBefore.set(event.id, Math.min(...Object.values(progress).map((p) => p.next_at)))
    return true
  }

  /** Claims an event (when it is due and free), runs its due consumers, and records or finishes it. */
  async function work (eventId: string, known: FileEvent | undefined, fresh = false): Promise<void> {
    // Delivered, and about to be removed: nothing to do (should the removal fail, a later poll finishes it).
    if (working.has(eventId) || removals.has(eventId)) return
    working.add(eventId)
    try {
      if (fresh && known !== undefined && await deliverUnclaimed(known)) return
      const wanted = wantedBy(eventId)
      // A fresh event still within its grace has no state and no marks (no poll has looked at it yet): its claim is a
      // create-only write without a read first, and no mark is looked for. Past the grace (it waited long in the queue),
      // a poll may have had it: then it is worked on like any other.
      const unseen = fresh && known !== undefined && now() < Date.parse(known.timestamp) + graceMs - LEASE_MARGIN_MS
      const read = unseen ? undefined : await jobs.readState(eventId)
      const start = now()
      const state: JobState = read?.state ?? { holder: null, until: 0, done: [], consumers: {} }
      if (read !== undefined && state.holder !== null && state.holder !== holder && state.until > start) {
        notBefore.set(eventId, state.until)
        return
      }
      const pending = wanted.filter((c) => !state.done.includes(c.name))
      if (pending.length === 0) {
        await jobs.finish(eventId)
        notBefore.delete(eventId)
        return
      }
      const nextDue = Math.min(...pending.map((c) => state.consumers[c.name]?.next_at ?? 0))
      if (nextDue > start) {
        notBefore.set(eventId, nextDue)
        return
      }
      const until = start + leaseMs
      if (!(await jobs.takeState(eventId, { ...state, holder, until }, read?.etag))) {
        // Another dispatcher has it now.
        notBefore.set(eventId, start + pollIntervalMs)
        return
      }
      const event = known ?? await jobs.readEvent(eventId)
      if (event === undefined) {
        // Finished and removed by another dispatcher meanwhile (or not a valid event): nothing to do.
        await jobs.finish(eventId)
        notBefore.delete(eventId)
        return
      }
      const due = pending.filter((c) => (state.consumers[c.name]?.next_at ?? 0) <= start)
      const claim = keepClaim(claimKeeping, eventId, until)
      let outcomes: ReadonlyArray<readonly [string, ConsumerProgress | 'done']>
      try {
        outcomes = await Promise.all(due.map(async (c) => [c.name, await attempt(c, event, state.consumers[c.name], unseen)] as const))
      } finally {
        await claim.stop()
      }
      const done = [...state.done]
      const progress: Record<string, ConsumerProgress> = { ...state.consumers }
      for (const [name, outcome] of outcomes) {
        if (outcome === 'done') {
          done.push(name)
          delete progress[name]
        } else {
          progress[name] = outcome
        }
      }
      if (wanted.every((c) => done.includes(c.name))) {
        await jobs.finish(eventId)
        notBefore.delete(eventId)
        return
      }
      // Past the lease another dispatcher may hold the event: leave the state to it (finished consumers are marked).
      if (now() < claim.until() - LEASE_MARGIN_MS) await jobs.putState(eventId, { holder: null, until: 0, done, consumers: progress })
      notBefore.set(eventId, Math.min(...Object.values(progress).map((p) => p.next_at)))
    } catch (error) {
      if (!closing.signal.aborted) log.error({ err: error, eventId }, 'working on an event failed; the outbox poll tries again')
      notBefore.set(eventId, now() + pollIntervalMs)
    } finally {
      working.delete(eventId)
    }
  }

  /** Files with an event in the fast path now: their next event waits, so one file's events go out in order. */
  const busyFiles = new Set<string>()

  function pump (): void {
    while (active < concurrency && !closing.signal.aborted) {
      const index = queue.findIndex((q) => !busyFiles.has(q.event.data.file.id))
      if (index === -1) break
      const [next] = queue.splice(index, 1)
      if (next === undefined) break
      const file = next.event.data.file.id
      active++
      busyFiles.add(file)
      const running = work(next.eventId, next.event, next.fresh).finally(() => {
        active--
        busyFiles.delete(file)
        inFlight.delete(running)
        pump()
      })
      inFlight.add(running)
    }
  }

  async function pollOnce ({ ignoreGrace = false }: { ignoreGrace?: boolean } = {}): Promise<void> {
    const started = now()
    const candidates: string[] = []
    const listed = new Set<string>()
    let token: string | undefined
    do {
      const page = await jobs.listOutbox({ limit: 1000, token })
      for (const { eventId, lastModified } of page.entries) {
        listed.add(eventId)
        // An event this process has worked on is known to be real (a retry, say): the grace is for strangers.
        const young = !ignoreGrace && !notBefore.has(eventId) && started - lastModified.getTime() < graceMs
        if (!young && (notBefore.get(eventId) ?? 0) <= started && !working.has(eventId)) candidates.push(eventId)
      }
      token = page.nextToken
    } while (token !== undefined && listed.size < MAX_PER_POLL && !closing.signal.aborted)
    for (const id of notBefore.keys()) if (!listed.has(id)) notBefore.delete(id)
    // In random order, so that dispatchers polling at once mostly claim different events.
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const swap = candidates[i] as string
      candidates[i] = candidates[j] as string
      candidates[j] = swap
    }
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < candidates.length && !closing.signal.aborted) {
        const eventId = candidates[next++]
        if (eventId !== undefined) await work(eventId, undefined)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, candidates.length) }, worker))
  }

  function schedule (): void {
    if (closing.signal.aborted) return
    timer = setTimeout(() => {
      polling = pollOnce()
        .catch((error: unknown) => { if (!closing.signal.aborted) log.error({ err: error }, 'polling the outbox failed') })
        .finally(() => {
          polling = undefined
          schedule()
        })
    }, pollIntervalMs)
    timer.unref()
  }

  return {
    register (consumer) {
      if (!CONSUMER_NAME_PATTERN.test(consumer.name)) throw new Error(`consumer name "${consumer.name}" must be 1-64 of a-z, 0-9 and -`)
      if (consumers.some((c) => c.name === consumer.name)) throw new Error(`a consumer named "${consumer.name}" is registered already`)
      consumers.push(consumer)
    },
    consumers,
    addObserver (observer) {
      observers.push(observer)
    },
    submit (event, { fresh = false } = {}) {
      if (closing.signal.aborted || queue.length >= MAX_QUEUED || wantedBy(event.id).length === 0) return
      queue.push({ eventId: event.id, event, fresh })
      pump()
    },
    start () {
      if (timer === undefined && consumers.length > 0) schedule()
    },
    pollOnce,
    async run (eventId, event) {
      await work(eventId, event)
    },
    get busy () {
      return queue.length + active + removals.size
    },
    async close () {
      closing.abort()
      clearTimeout(timer)
      queue.length = 0
      await Promise.allSettled([...inFlight, polling])
      // Delivered events still waiting for their removal are removed now (the poll would finish them anyway).
      await removals.drain()
    },
  }
}
