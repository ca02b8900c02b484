// The job store: the only code that knows how outbox events, their claims, consumers' marks and dead letters lie in the bucket.
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import type { ConditionalWrites } from '../storage/conditional-writes.js'
import type { ObjectStore } from '../storage/s3.js'
import {
  DEAD_PREFIX, eventIdOfOutboxKey, OUTBOX_PREFIX, outboxKeyFor, parseEvent, SEEN_PREFIX, STATE_PREFIX, FileEventSchema, type FileEvent,
} from './event-model.js'

const ConsumerProgressSchema = Type.Object({
  attempts: Type.Integer({ minimum: 0 }),
  /** ms since the epoch: the next attempt is due then. */
  next_at: Type.Number(),
  last_error: Type.Optional(Type.String()),
})

/** Who works on an event now (until the lease ends), and each unfinished consumer's attempts. */
const JobStateSchema = Type.Object({
  holder: Type.Union([Type.String(), Type.Null()]),
  /** ms since the epoch: the holder's lease ends then, and another dispatcher may take the event. */
  until: Type.Number(),
  /** Consumers finished with the event (delivered or dead). */
  done: Type.Array(Type.String()),
  consumers: Type.Record(Type.String(), ConsumerProgressSchema),
})
export type JobState = Static<typeof JobStateSchema>
export type ConsumerProgress = Static<typeof ConsumerProgressSchema>

const DeadLetterSchema = Type.Object({
  consumer: Type.String(),
  attempts: Type.Integer({ minimum: 0 }),
  last_error: Type.String(),
  died_at: Type.String(),
  event: FileEventSchema,
})
export type DeadLetter = Static<typeof DeadLetterSchema>

const checkState = Compile(JobStateSchema)
const checkDeadLetter = Compile(DeadLetterSchema)

const JSON_TYPE = { contentType: 'application/json' }
const stateKeyFor = (eventId: string) => `${STATE_PREFIX}${eventId}.json`
const seenKeyFor = (consumer: string, eventId: string) => `${SEEN_PREFIX}${consumer}/${eventId}`
const deadKeyFor = (consumer: string, eventId: string) => `${DEAD_PREFIX}${consumer}/${eventId}.json`

export interface OutboxEntry { readonly eventId: string, readonly lastModified: Date }
export interface OutboxPage { readonly entries: readonly OutboxEntry[], readonly nextToken: string | undefined }

export interface JobStore {
  /** One page of the outbox, in key order. */
  listOutbox (page: { limit: number, token: string | undefined }): Promise<OutboxPage>
  /** The event; undefined when it is gone (handled meanwhile) or is not a valid event. */
  readEvent (eventId: string): Promise<FileEvent | undefined>
  /** Puts an event (back) into the outbox: what the record store writes beside a change, and what a replay writes. */
  putEvent (event: FileEvent): Promise<void>
  /** The event's state and its ETag; a state that does not parse reads as free, to be overwritten. */
  readState (eventId: string): Promise<{ readonly state: JobState, readonly etag: string } | undefined>
  /**
   * Writes a state only if the one read is still there (If-Match on `etag`), or, with no `etag`, only if there is none
   * (If-None-Match). False when another dispatcher wrote first. On a store without conditional writes it always writes.
   */
  takeState (eventId: string, state: JobState, etag: string | undefined): Promise<boolean>
  putState (eventId: string, state: JobState): Promise<void>
  /**
   * Removes up to 1,000 events that never had a state in one request (S3 DeleteObjects); the ids S3 could not remove
   * (they stay in the outbox, where the poll finds them, sees their marks and finishes them).
   */
  removeEvents (eventIds: readonly string[]): Promise<string[]>
  /** Removes a finished event: its state first, then the event (a crash between leaves an event whose marks say it is done). */
  finish (eventId: string): Promise<void>
  isSeen (consumer: string, eventId: string): Promise<boolean>
  markSeen (consumer: string, eventId: string): Promise<void>
  unmarkSeen (consumer: string, eventId: string): Promise<void>
  putDeadLetter (letter: DeadLetter): Promise<void>
  listDeadLetters (consumer: string | undefined): Promise<DeadLetter[]>
  removeDeadLetter (consumer: string, eventId: string): Promise<void>
  /** Deletes consumers' marks last written before `before` (ms since the epoch); how many. */
  pruneSeen (before: number, options: { dryRun: boolean, signal?: AbortSignal | undefined }): Promise<number>
}

export function createJobStore (objects: ObjectStore, conditional: ConditionalWrites): JobStore {
  async function listAll (prefix: string, each: (key: string, lastModified: Date) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    let token: string | undefined
    do {
      if (signal?.aborted === true) return
      const page = await objects.list(prefix, { maxKeys: 1000, continuationToken: token })
      for (const object of page.objects) await each(object.key, object.lastModified)
      token = page.nextToken
    } while (token !== undefined)
  }

  return {
    async listOutbox ({ limit, token }) {
      const page = await objects.list(OUTBOX_PREFIX, { maxKeys: limit, continuationToken: token })
      const entries = page.objects.flatMap((o) => {
        const eventId = eventIdOfOutboxKey(o.key)
        return eventId === undefined ? [] : [{ eventId, lastModified: o.lastModified }]
      })
      return { entries, nextToken: page.nextToken }
    },
    async readEvent (eventId) {
      const text = await objects.getText(outboxKeyFor(eventId))
      const event = text === undefined ? undefined : parseEvent(text)
      return event?.id === eventId ? event : undefined
    },
    async putEvent (event) {
      await objects.put(outboxKeyFor(event.id), JSON.stringify(event), JSON_TYPE)
    },
    async readState (eventId) {
      const read = await objects.getTextAndEtag(stateKeyFor(eventId))
      if (read === undefined) return undefined
      let parsed: unknown
      try {
        parsed = JSON.parse(read.text)
      } catch {
        parsed = undefined
      }
      const state = checkState.Check(parsed) ? parsed : { holder: null, until: 0, done: [], consumers: {} }
      return { state, etag: read.etag }
    },
    async takeState (eventId, state, etag) {
      const body = JSON.stringify(state)
      if (etag === undefined) {
        if (!(await conditional.createOnly())) {
          await objects.put(stateKeyFor(eventId), body, JSON_TYPE)
          return true
        }
        return await objects.put(stateKeyFor(eventId), body, { ...JSON_TYPE, createOnly: true }) === 'created'
      }
      const form = await conditional.ifMatchForm()
      if (form === 'unsupported') {
        await objects.put(stateKeyFor(eventId), body, JSON_TYPE)
        return true
      }
      return await objects.replace(stateKeyFor(eventId), body, { ...JSON_TYPE, ifMatch: conditional.ifMatch(form, etag) }) === 'replaced'
    },
    async putState (eventId, state) {
      await objects.put(stateKeyFor(eventId), JSON.stringify(state), JSON_TYPE)
    },
    async removeEvents (eventIds) {
      const byKey = new Map(eventIds.map((id) => [outboxKeyFor(id), id]))
      const failed = await objects.deleteMany([...byKey.keys()])
      return failed.flatMap((key) => byKey.get(key) ?? [])
    },
    async finish (eventId) {
      await objects.delete(stateKeyFor(eventId))
      await objects.delete(outboxKeyFor(eventId))
    },
    async isSeen (consumer, eventId) {
      return await objects.head(seenKeyFor(consumer, eventId)) !== undefined
    },
    async markSeen (consumer, eventId) {
      await objects.put(seenKeyFor(consumer, eventId), '', { contentType: 'application/octet-stream' })
    },
    async unmarkSeen (consumer, eventId) {
      await objects.delete(seenKeyFor(consumer, eventId))
    },
    async putDeadLetter (letter) {
      await objects.put(deadKeyFor(letter.consumer, letter.event.id), JSON.stringify(letter), JSON_TYPE)
    },
    async listDeadLetters (consumer) {
      const letters: DeadLetter[] = []
      await listAll(consumer === undefined ? DEAD_PREFIX : `${DEAD_PREFIX}${consumer}/`, async (key) => {
        const text = await objects.getText(key)
        let parsed: unknown
        try {
          parsed = text === undefined ? undefined : JSON.parse(text)
        } catch {
          parsed = undefined
        }
        if (checkDeadLetter.Check(parsed)) letters.push(parsed)
      })
      return letters
    },
    async removeDeadLetter (consumer, eventId) {
      await objects.delete(deadKeyFor(consumer, eventId))
    },
    async pruneSeen (before, { dryRun, signal }) {
      let removed = 0
      await listAll(SEEN_PREFIX, async (key, lastModified) => {
        if (lastModified.getTime() >= before) return
        if (!dryRun) await objects.delete(key)
        removed++
      }, signal)
      return removed
    },
  }
}
