// The record store: the only code that knows file records are JSON objects in the bucket, with an owner index beside them.
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { StorageUnavailableError } from '../errors.js'
import { FileRecordSchema, type FileRecord } from '../schemas/file-record.js'
import { fileIdTime, isFileId } from '../uploads/file-id.js'
import { encodeOwner } from '../uploads/owner-encoding.js'
import { createConditionalWrites, type ConditionalWrites } from './conditional-writes.js'
import type { ObjectStore } from './s3.js'

export const INTERNAL_PREFIX = '_filegate/'
const RECORDS_PREFIX = `${INTERNAL_PREFIX}records/`
const OWNERS_PREFIX = `${INTERNAL_PREFIX}owners/`
/** Notes of buried records, by time of burial, so that cleanup finds tombstones old enough to remove. */
const BURIALS_PREFIX = `${INTERNAL_PREFIX}burials/`
/** The content type a tombstone is stored with: a HEAD tells it from a record without reading it. */
const TOMBSTONE_TYPE = 'application/vnd.filegate.tombstone+json'
/** The largest UUID v7 timestamp; index keys sort by its difference so that S3's ascending listing is newest first. */
const MAX_ID_TIME = 2 ** 48 - 1

/** The object a download serves: the checked copy, or the upload itself where there is none. */
export function servedKeyOf (record: Pick<FileRecord, 'key' | 'served_key'>): string {
  return record.served_key ?? record.key
}

export function recordKeyFor (id: string): string {
  return `${RECORDS_PREFIX}${id}.json`
}

export function ownerIndexPrefix (owner: string): string {
  return `${OWNERS_PREFIX}${encodeOwner(owner)}/`
}

/** An index entry's name for a file id: an inverted time first, so that S3's ascending listing is newest first. */
export function newestFirstName (id: string): string {
  return `${String(MAX_ID_TIME - fileIdTime(id)).padStart(15, '0')}-${id}`
}

export function ownerIndexKeyFor (owner: string, id: string): string {
  return `${ownerIndexPrefix(owner)}${newestFirstName(id)}`
}

function burialKeyFor (id: string, at: number): string {
  return `${BURIALS_PREFIX}${String(at).padStart(15, '0')}-${id}`
}

const checkRecord = Compile(FileRecordSchema)
/** What a deleted file's record becomes: it refuses the create of a confirm that checked the upload before the DELETE. */
// `key`, `served_key` and `variant_keys` (the deleted objects) let a DELETE cut short after the burial, or cleanup, finish
// removing them; older tombstones lack some.
const checkTombstone = Compile(Type.Object({
  id: Type.String(), uploaded_by: Type.String(), deleted_at: Type.String(), key: Type.Optional(Type.String()), served_key: Type.Optional(Type.String()),
  variant_keys: Type.Optional(Type.Array(Type.String())),
}))

export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError'
}

/** A record existed when `create` wrote and was gone when it read: its tombstone was removed in between. */
export class RecordVanishedError extends Error {
  override name = 'RecordVanishedError'
}

/** `create` met a tombstone: the file was deleted, and a confirm of its upload must not bring it back. */
export class RecordBuriedError extends Error {
  override name = 'RecordBuriedError'
}

/** What `read` finds where a deleted file's record was. */
class Tombstone {
  constructor (readonly owner: string, readonly key: string | undefined, readonly servedKey: string | undefined, readonly variantKeys: readonly string[]) {}
}

/** What is left of a deleted file where its record was: the owner, and the objects' keys the tombstone names. */
export interface BuriedFile {
  readonly buried: true
  readonly uploaded_by: string
  readonly key: string | undefined
  readonly served_key: string | undefined
  /** Its variants' keys (every one it had or may have been given); empty in tombstones older than this field. */
  readonly variant_keys: readonly string[]
}

/**
 * What a burial needs of a record: the tombstone names its objects, so a DELETE cut short can finish removing them. Its
 * variants are named by the caller (the record's, and those a variants job may be writing now).
 */
export type BuriedRecord = Pick<FileRecord, 'id' | 'uploaded_by' | 'key' | 'served_key'> & { readonly variantKeys?: readonly string[] | undefined }

/** A tombstone due for removal: the file id and the note that found it. */
export interface Burial { readonly id: string, readonly noteKey: string }
export interface BurialPage { readonly burials: readonly Burial[], readonly nextToken: string | undefined }

export interface OwnerPage { readonly ids: readonly string[], readonly nextToken: string | undefined }

/**
 * Another object written together with a record change, in the same parallel batch (an event for the outbox): it
 * costs no sequential round trip. When the record write does not happen (it lost a race, or the file was deleted),
 * the companion object is deleted again before the call returns.
 */
export interface CompanionWrite {
  /** The object to write beside the record as it will be stored (called once per write attempt). */
  prepare (record: FileRecord): { readonly key: string, readonly body: string }
  /**
   * Told the key of the prepared object that stands beside the record once the call succeeds; `fresh` when it was
   * written beside a change made just now (a create or an update that won), so no earlier call can have written it.
   */
  stands? (key: string, fresh: boolean): void
}

export interface RecordStore {
  /** The record; undefined when there is none or the file was deleted (a tombstone). */
  get (id: string): Promise<FileRecord | undefined>
  /** The record, or what its tombstone tells of a deleted file; undefined when there is neither. */
  getOrBuried (id: string): Promise<FileRecord | BuriedFile | undefined>
  /**
   * Puts the tombstone back if an update wrote the record over it after `bury`: only on stores that cannot make a
   * write conditional on the version read (s3rver), where such an update cannot tell that the DELETE has begun.
   */
  settleBurial (record: FileRecord, variantKeys?: readonly string[]): Promise<void>
  /** Starts the store's one-off probe of conditional writes, if it has not run, so that a first write need not wait for it. */
  prepareWrites (): void
  /** Whether a record (not a tombstone) exists, by a HEAD: cheaper than get when the content does not matter (cleanup). */
  exists (id: string): Promise<boolean>
  /**
   * Writes the record once: if one already exists, it is returned unchanged with `created: false`. Throws
   * RecordBuriedError if the file was deleted, and RecordVanishedError if the existing one is gone before it can be read.
   */
  create (record: FileRecord, companion?: CompanionWrite): Promise<{ readonly created: boolean, readonly record: FileRecord }>
  /**
   * Takes the file off its owner's list and replaces its record with a tombstone, so that no confirm still in flight
   * can write it again. A note of the burial is written first (beside the index removal), so cleanup
   * (`removeTombstone`) always finds the tombstone once it is old enough; the record goes last. A companion (the
   * file.deleted event) is written beside the note. The tombstone names the file's objects, `variantKeys` included.
   */
  bury (record: FileRecord, companion?: CompanionWrite, variantKeys?: readonly string[]): Promise<void>
  /** Burials before `before` (ms since the epoch), oldest first. */
  listBurials (before: number, page: { limit: number, token: string | undefined }): Promise<BurialPage>
  /**
   * Removes a burial's tombstone (never a record, should one be there), then its note, and with them the owner index
   * entry a confirm that lost its race with the DELETE may have written after the DELETE removed the first one.
   */
  removeTombstone (burial: Burial): Promise<void>
  addToOwnerIndex (owner: string, id: string): Promise<void>
  removeFromOwnerIndex (owner: string, id: string): Promise<void>
  listOwnerIds (owner: string, page: { limit: number, token: string | undefined }): Promise<OwnerPage>
  /**
   * Rewrites a record with `change(current)`; undefined when there is none or `change` declines (returns undefined).
   * Never recreates a record deleted meanwhile: the write is conditional on the version read (If-Match) where the
   * store supports it, and otherwise undone when the file's object has gone (a DELETE removes it first). Each change
   * raises the record's `revision` by one. A companion is written beside the record, and removed if the write lost.
   */
  update (id: string, change: (current: FileRecord) => FileRecord | undefined, companion?: CompanionWrite): Promise<FileRecord | undefined>
  /**
   * The If-Match value this store takes for `etag` on a PUT (quoted or bare, found out once by a probe), or undefined
   * when the store cannot make a write conditional (s3rver).
   */
  ifMatchFor (etag: string): Promise<string | undefined>
  /** How many entries the owner's index holds, not counting `except`; listing stops once `atMost` are counted. */
  countOwnerFiles (owner: string, atMost: number, except?: string): Promise<number>
}

/** Attempts of one update racing other updates of the same record before giving up. */
const UPDATE_ATTEMPTS = 8

export function createRecordStore (objects: ObjectStore, conditional: ConditionalWrites = createConditionalWrites(objects)): RecordStore {
  const supportsConditionalWrites = conditional.createOnly

  /** Writes a companion beside `write`; if `write` reports that it did not happen, removes the companion again. */
  async function withCompanion<T> (record: FileRecord, companion: CompanionWrite | undefined, write: () => Promise<T>, happened: (outcome: T) => boolean): Promise<T> {
    if (companion === undefined) return await write()
    const extra = companion.prepare(record)
    const [outcome, companionPut] = await Promise.allSettled([write(), objects.put(extra.key, extra.body, { contentType: 'application/json' })])
    if (outcome.status === 'fulfilled' && happened(outcome.value)) {
      if (companionPut.status === 'rejected') {
        // The record stands without its companion: write it again once, or fail, and the caller's retry repairs it
        // (a repeated create or a change that changes nothing writes the companion of the record as it stands).
        await objects.put(extra.key, extra.body, { contentType: 'application/json' })
      }
      companion.stands?.(extra.key, true)
      return outcome.value
    }
    if (companionPut.status === 'fulfilled') await objects.delete(extra.key)
    if (outcome.status === 'rejected') throw outcome.reason
    return outcome.value
  }

  /** The record, a tombstone's owner, or undefined for nothing. */
  async function read (id: string): Promise<FileRecord | Tombstone | undefined> {
    const text = await objects.getText(recordKeyFor(id))
    return text === undefined ? undefined : parse(id, text)
  }

  async function get (id: string): Promise<FileRecord | undefined> {
    const found = await read(id)
    return found instanceof Tombstone ? undefined : found
  }

  function parse (id: string, text: string): FileRecord | Tombstone {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new CorruptRecordError(`record ${id} is not JSON`)
    }
    if (checkRecord.Check(parsed)) return parsed
    if (checkTombstone.Check(parsed)) return new Tombstone(parsed.uploaded_by, parsed.key, parsed.served_key, parsed.variant_keys ?? [])
    throw new CorruptRecordError(`record ${id} does not match the record schema`)
  }

  /** Writes the companion of a record as it stands: repairs one whose first write failed after the record's. */
  async function repair (record: FileRecord, companion: CompanionWrite | undefined): Promise<void> {
    if (companion === undefined) return
    const extra = companion.prepare(record)
    await objects.put(extra.key, extra.body, { contentType: 'application/json' })
    companion.stands?.(extra.key, false)
  }

  async function update (id: string, change: (current: FileRecord) => FileRecord | undefined, companion?: CompanionWrite): Promise<FileRecord | undefined> {
    const key = recordKeyFor(id)
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const read = await objects.getTextAndEtag(key)
      if (read === undefined) return undefined
      const current = parse(id, read.text)
      if (current instanceof Tombstone) return undefined
      const changed = change(current)
      if (changed === undefined) return undefined
      if (JSON.stringify(changed) === JSON.stringify(current)) {
        // Nothing to change: the same request again, perhaps after its companion's write failed; write that again.
        if ((current.revision ?? 0) > 0) await repair(current, companion)
        return current
      }
      const next: FileRecord = { ...changed, revision: (current.revision ?? 0) + 1 }
      const body = JSON.stringify(next)
      const form = await conditional.ifMatchForm()
      if (form === 'unsupported') {
        await withCompanion(next, companion, async () => await objects.put(key, body, { contentType: 'application/json' }), () => true)
        // A DELETE buries the record, then deletes the object: if the object is gone, this write may have overwritten
        // the tombstone of a DELETE that ran since the read, so put the tombstone back (the DELETE made the file.deleted
        // event; this change's event goes with it). (If the object is still there, the DELETE's settleBurial puts it
        // back after deleting the object.)
        if (await objects.head(servedKeyOf(next)) !== undefined) return next
        await bury({ ...next, variantKeys: next.variants?.map((v) => v.key) })
        if (companion !== undefined) await objects.delete(companion.prepare(next).key)
        return undefined
      }
      const ifMatch = conditional.ifMatch(form, read.etag)
      const outcome = await withCompanion(next, companion, async () => await objects.replace(key, body, { contentType: 'application/json', ifMatch }), (o) => o === 'replaced')
      if (outcome === 'replaced') return next
      // Changed or deleted since it was read: read it again.
    }
    throw Object.assign(new StorageUnavailableError(), { cause: new Error(`record ${id} kept changing during ${UPDATE_ATTEMPTS} update attempts`) })
  }

  async function bury ({ id, uploaded_by: owner, key, served_key: servedKey, variantKeys = [] }: BuriedRecord, extra?: { readonly key: string, readonly body: string }): Promise<void> {
    const at = Date.now()
    await Promise.all([
      objects.delete(ownerIndexKeyFor(owner, id)),
      objects.put(burialKeyFor(id, at), '', { contentType: 'application/octet-stream' }),
      ...(extra === undefined ? [] : [objects.put(extra.key, extra.body, { contentType: 'application/json' })]),
    ])
    const tombstone = { id, uploaded_by: owner, deleted_at: new Date(at).toISOString(), key, served_key: servedKey, ...(variantKeys.length > 0 && { variant_keys: variantKeys }) }
    await objects.put(recordKeyFor(id), JSON.stringify(tombstone), { contentType: TOMBSTONE_TYPE })
  }

  /** What an existing record (or tombstone) answers to a create. */
  function existing (id: string, found: FileRecord | Tombstone | undefined): { readonly created: false, readonly record: FileRecord } {
    if (found instanceof Tombstone) throw new RecordBuriedError(`file ${id} was deleted`)
    if (found === undefined) throw new RecordVanishedError(`record ${id} was removed between its create and its read`)
    return { created: false, record: found }
  }

  return {
    get,
    async getOrBuried (id) {
      const found = await read(id)
      return found instanceof Tombstone ? { buried: true, uploaded_by: found.owner, key: found.key, served_key: found.servedKey, variant_keys: found.variantKeys } : found
    },
    async settleBurial (record, variantKeys) {
      // An update always learns the store's form before it writes: if none has asked in this process, none is racing.
      const form = conditional.knownIfMatchForm()
      if (form === undefined || await form.catch(() => undefined) !== 'unsupported') return
      if (await get(record.id) !== undefined) await bury({ ...record, variantKeys })
    },
    prepareWrites: conditional.prepare,
    async exists (id) {
      const head = await objects.head(recordKeyFor(id))
      return head !== undefined && head.contentType !== TOMBSTONE_TYPE
    },
    async create (record, companion) {
      const body = JSON.stringify(record)
      if (!(await supportsConditionalWrites())) {
        // Read-then-write: racy, which is acceptable only on stores that cannot do better.
        const found = await read(record.id)
        if (found !== undefined) {
          const standing = existing(record.id, found)
          if ((standing.record.revision ?? 0) === 0) await repair(standing.record, companion)
          return standing
        }
        await withCompanion(record, companion, async () => await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json' }), () => true)
        return { created: true, record }
      }
      const outcome = await withCompanion(record, companion, async () => await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json', createOnly: true }), (o) => o === 'created')
        if (outcome === 'created') return { created: true, record }
      const found = existing(record.id, await read(record.id))
      // The same create again, perhaps after its companion's write failed: write that of the record as it stands.
      if ((found.record.revision ?? 0) === 0) await repair(found.record, companion)
      return found
    },
    async bury (record, companion, variantKeys) {
      const extra = companion?.prepare(record)
      await bury({ ...record, variantKeys }, extra)
      // Not fresh: a DELETE cut short before its tombstone is repeated, and writes the same event again.
      if (extra !== undefined) companion?.stands?.(extra.key, false)
    },
    async listBurials (before, { limit, token }) {
      const page = await objects.list(BURIALS_PREFIX, { maxKeys: limit, continuationToken: token })
      const burials: Burial[] = []
      for (const { key } of page.objects) {
        // Notes are named `<15-digit ms>-<id>`, so the listing is oldest first: the first one too young ends it.
        const name = key.slice(BURIALS_PREFIX.length)
        const at = Number(name.slice(0, 15))
        const id = name.slice(16)
        if (!(at < before)) return { burials, nextToken: undefined }
        if (isFileId(id)) burials.push({ id, noteKey: key })
      }
      return { burials, nextToken: page.nextToken }
    },
    async removeTombstone ({ id, noteKey }) {
      // A create fails on a tombstone (If-None-Match, or the read first where the store lacks it), and an update declines
      // one, so between this read and the delete nothing but another burial writes here.
      const found = await read(id)
      if (found instanceof Tombstone) {
        await objects.delete(ownerIndexKeyFor(found.owner, id))
        await objects.delete(recordKeyFor(id))
      }
      await objects.delete(noteKey)
    },
    async addToOwnerIndex (owner, id) {
      await objects.put(ownerIndexKeyFor(owner, id), '', { contentType: 'application/octet-stream' })
    },
    async removeFromOwnerIndex (owner, id) {
      await objects.delete(ownerIndexKeyFor(owner, id))
    },
    async listOwnerIds (owner, { limit, token }) {
      const page = await objects.list(ownerIndexPrefix(owner), { maxKeys: limit, continuationToken: token })
      // Index keys end in the 36-character id.
      const ids = page.objects.map((o) => o.key.slice(-36)).filter(isFileId)
      return { ids, nextToken: page.nextToken }
    },
    update,
    async ifMatchFor (etag) {
      const form = await conditional.ifMatchForm()
      return form === 'unsupported' ? undefined : conditional.ifMatch(form, etag)
    },
    async countOwnerFiles (owner, atMost, except) {
      let count = 0
      let token: string | undefined
      do {
        // One more than still needed, in case `except` is among them.
        const page = await objects.list(ownerIndexPrefix(owner), { maxKeys: Math.min(1000, atMost - count + 1), continuationToken: token })
        count += page.objects.filter((o) => except === undefined || !o.key.endsWith(except)).length
        token = page.nextToken
      } while (token !== undefined && count < atMost)
      return count
    },
  }
}
