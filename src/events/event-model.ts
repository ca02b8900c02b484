// The event model: the event types, the event object the outbox holds, its fixed id and where it lives in the bucket.
import { createHash } from 'node:crypto'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { FileRecordSchema, type FileRecord } from '../schemas/file-record.js'

export const EVENT_TYPES = ['file.created', 'file.updated', 'file.deleted', 'file.scanned', 'file.variants_ready'] as const
export type EventType = typeof EVENT_TYPES[number]

export const EVENT_DESCRIPTIONS: Readonly<Record<EventType, string>> = {
  'file.created': 'A file was confirmed for the first time (POST /files/confirm or a completed multipart upload); `data.file` is its record.',
  'file.updated': 'A file was shared or unshared (PATCH /files/{id}); `data.file` is the record after the change.',
  'file.deleted': 'A file was deleted (DELETE /files/{id}, or cleanup burying a record whose upload it removed); `data.file` is the record as it was.',
  'file.scanned': 'A virus scan of the file finished; `data.file.scan` holds the verdict.',
  'file.variants_ready': 'The image variants of the file were made; `data.file.variants` lists them.',
}

const INTERNAL_PREFIX = '_filegate/'
/** Events not yet handled by every consumer, spread over shards: `<prefix><shard>/<event id>.json`. */
export const OUTBOX_PREFIX = `${INTERNAL_PREFIX}outbox/`
/** Events a consumer gave up on: `<prefix><consumer>/<event id>.json`. */
export const DEAD_PREFIX = `${INTERNAL_PREFIX}outbox-dead/`
/** One object per event being worked on: who holds it, and each consumer's attempts. */
export const STATE_PREFIX = `${INTERNAL_PREFIX}outbox-state/`
/** Empty marks `<prefix><consumer>/<event id>`: the consumer is finished with the event (delivered or dead). */
export const SEEN_PREFIX = `${INTERNAL_PREFIX}outbox-seen/`

/**
 * The number of outbox shards: a one-hex-digit prefix from a hash of the file id. S3 partitions by key prefix (about
 * 3,500 writes per second each on AWS), and time-ordered keys would all land in the newest partition.
 */
export const OUTBOX_SHARDS = 16

export const FileEventSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[a-z_.]+\\.[0-9a-f-]{36}\\.r[0-9]+\\.[0-9a-f]{12}$', description: 'The event id, also the webhook-id header' }),
  type: Type.Union([
    Type.Literal('file.created'), Type.Literal('file.updated'), Type.Literal('file.deleted'), Type.Literal('file.scanned'), Type.Literal('file.variants_ready'),
  ], { description: 'What happened' }),
  timestamp: Type.String({ format: 'date-time', description: 'When the change was made (ISO 8601, UTC)' }),
  data: Type.Object({ file: FileRecordSchema }),
})
export type FileEvent = Static<typeof FileEventSchema>

const checkEvent = Compile(FileEventSchema)

/** Parses an outbox object; undefined when it is not an event (never trusted as one). */
export function parseEvent (text: string): FileEvent | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  return checkEvent.Check(parsed) ? parsed : undefined
}

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

/**
 * `<type>.<file id>.r<revision>.<12 hex of sha256(record JSON)>`: fixed by the change it reports, so writing the event
 * of the same change again (a repeated DELETE) names the same event, and consumers' marks recognise it.
 */
export function eventIdFor (type: EventType, record: FileRecord): string {
  return `${type}.${record.id}.r${record.revision ?? 0}.${sha256Hex(JSON.stringify(record)).slice(0, 12)}`
}

/** The file id inside an event id. */
export function fileIdOfEvent (eventId: string): string {
  return /\.([0-9a-f-]{36})\.r[0-9]+\.[0-9a-f]{12}$/.exec(eventId)?.[1] ?? ''
}

export function shardOf (fileId: string): string {
  return sha256Hex(fileId).slice(0, 1)
}

export function outboxKeyFor (eventId: string): string {
  return `${OUTBOX_PREFIX}${shardOf(fileIdOfEvent(eventId))}/${eventId}.json`
}

/** The event id of an outbox key, or undefined for anything else under the prefix. */
export function eventIdOfOutboxKey (key: string): string | undefined {
  const match = /^_filegate\/outbox\/[0-9a-f]\/(.+)\.json$/.exec(key)
  return match?.[1]
}

export function newEvent (type: EventType, record: FileRecord, now: number): FileEvent {
  return { id: eventIdFor(type, record), type, timestamp: new Date(now).toISOString(), data: { file: record } }
}

/** What a webhook receiver gets: the event without its id (that is the webhook-id header). */
export function webhookPayload (event: FileEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data })
}

/** The event type inside an event id; undefined when the id is not one. */
export function typeOfEvent (eventId: string): EventType | undefined {
  const type = /^([a-z_.]+)\.[0-9a-f-]{36}\.r[0-9]+\.[0-9a-f]{12}$/.exec(eventId)?.[1]
  return EVENT_TYPES.find((t) => t === type)
}
