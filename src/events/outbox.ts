// The outbox writer: the event companion a record change writes beside itself, and the hand-over of a written event to the runner.
import type { CompanionWrite } from '../storage/record-store.js'
import { newEvent, outboxKeyFor, type EventType, type FileEvent } from './event-model.js'

/** The event of one record change, written by the record store in the same parallel batch as the record. */
export interface EventCompanion extends CompanionWrite {
  readonly type: EventType
  /** The event that stands in the outbox once the change succeeded; undefined if none was written (nothing changed). */
  readonly event: FileEvent | undefined
  /** Whether that event was written beside the change itself, for the first time (not a repeated request's rewrite). */
  readonly fresh: boolean
}

export interface EventOutbox {
  /**
   * A companion for a record change that makes an event of `type`, to pass to `records.create`, `update` or `bury`;
   * undefined when no consumer wants events of that type (then none is written: nothing would ever take it out).
   */
  companion (type: EventType): EventCompanion | undefined
  /** After the change succeeded: hands its event to this process's runner at once (no poll needed). */
  made (companion: EventCompanion | undefined): void
}

export interface EventOutboxOptions {
  /** Whether any consumer wants events of this type: without one, no event of it is written. */
  readonly wanted: (type: EventType) => boolean
  /** The runner's fast path; without it (the cleanup CLI) events wait for a dispatcher's poll. */
  readonly submit?: (event: FileEvent, fresh: boolean) => void
  readonly now?: () => number
}

export function createEventOutbox ({ wanted, submit, now = Date.now }: EventOutboxOptions): EventOutbox {
  return {
    companion (type) {
      if (!wanted(type)) return undefined
      const prepared = new Map<string, FileEvent>()
      let standing: FileEvent | undefined
      let fresh = false
      return {
        type,
        get event () {
          return standing
        },
        get fresh () {
          return fresh
        },
        prepare (record) {
          const event = newEvent(type, record, now())
          const key = outboxKeyFor(event.id)
          prepared.set(key, event)
          return { key, body: JSON.stringify(event) }
        },
        stands (key, first) {
          standing = prepared.get(key)
          fresh = first
        },
      }
    },
    made (companion) {
      const event = companion?.event
      if (event !== undefined) submit?.(event, companion?.fresh ?? false)
    },
  }
}
