// The record store: the only code that knows file records are JSON objects in the bucket, with an owner index beside them.
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { StorageUnavailableError } from '../errors.js'
import { FileRecordSchema, type FileRecord } from '../schemas/file-record.js'
import { fileIdTime, isFileId, newFileId } from '../uploads/file-id.js'
import { encodeOwner } from '../uploads/owner-encoding.js'
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
// `key` (the deleted object's) lets a DELETE cut short after the burial finish removing the object; older tombstones lack it.
const checkTombstone = Compile(Type.Object({ id: Type.String(), uploaded_by: Type.String(), deleted_at: Type.String(), key: Type.Optional(Type.String()) }))

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
  constructor (readonly owner: string, readonly key: string | undefined) {}
}

/** What is left of a deleted file where its record was: the owner, and the object's key when the tombstone names it. */
export interface BuriedFile { readonly buried: true, readonly uploaded_by: string, readonly key: string | undefined }

/** A tombstone due for removal: the file id and the note that found it. */
export interface Burial { readonly id: string, readonly noteKey: string }
export interface BurialPage { readonly burials: readonly Burial[], readonly nextToken: string | undefined }

export interface OwnerPage { readonly ids: readonly string[], readonly nextToken: string | undefined }

export interface RecordStore {
  /** The record; undefined when there is none or the file was deleted (a tombstone). */
  get (id: string): Promise<FileRecord | undefined>
  /** The record, or what its tombstone tells of a deleted file; undefined when there is neither. */
  getOrBuried (id: string): Promise<FileRecord | BuriedFile | undefined>
  /**
   * Puts the tombstone back if an update wrote the record over it after `bury`: only on stores that cannot make a
   * write conditional on the version read (s3rver), where such an update cannot tell that the DELETE has begun.
   */
  settleBurial (record: Pick<FileRecord, 'id' | 'uploaded_by' | 'key'>): Promise<void>
  /** Starts the store's one-off probe of conditional writes, if it has not run, so that a first write need not wait for it. */
  prepareWrites (): void
  /** Whether a record (not a tombstone) exists, by a HEAD: cheaper than get when the content does not matter (cleanup). */
  exists (id: string): Promise<boolean>
  /**
   * Writes the record once: if one already exists, it is returned unchanged with `created: false`. Throws
   * RecordBuriedError if the file was deleted, and RecordVanishedError if the existing one is gone before it can be read.
   */
  create (record: FileRecord): Promise<{ readonly created: boolean, readonly record: FileRecord }>
  /**
   * Takes the file off its owner's list and replaces its record with a tombstone, so that no confirm still in flight
   * can write it again. A note of the burial is written first (beside the index removal), so cleanup
   * (`removeTombstone`) always finds the tombstone once it is old enough; the record goes last.
   */
  bury (record: Pick<FileRecord, 'id' | 'uploaded_by' | 'key'>): Promise<void>
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
   * store supports it, and otherwise undone when the file's object has gone (a DELETE removes it first).
   */
  update (id: string, change: (current: FileRecord) => FileRecord | undefined): Promise<FileRecord | undefined>
  /**
   * The If-Match value this store takes for `etag` on a PUT (quoted or bare, found out once by a probe), or undefined
   * when the store cannot make a write conditional (s3rver).
   */
  ifMatchFor (etag: string): Promise<string | undefined>
  /** How many entries the owner's index holds, not counting `except`; listing stops once `atMost` are counted. */
  countOwnerFiles (owner: string, atMost: number, except?: string): Promise<number>
}

/** How a store takes If-Match on a write: AWS and MinIO the quoted ETag, Ceph RGW 16 the bare one, s3rver not at all. */
type IfMatchForm = 'quoted' | 'bare' | 'unsupported'
/** An ETag no object has, for the probe. */
const NO_SUCH_ETAG = '00000000000000000000000000000000'
/** Attempts of one update racing other updates of the same record before giving up. */
const UPDATE_ATTEMPTS = 8

export function createRecordStore (objects: ObjectStore): RecordStore {
  let conditionalWrites: Promise<boolean> | undefined

  /** Some stores (s3rver) ignore If-None-Match; find out once, by writing a probe twice. */
  function supportsConditionalWrites (): Promise<boolean> {
    conditionalWrites ??= (async () => {
      const probe = `${INTERNAL_PREFIX}probes/${newFileId()}`
      await objects.put(probe, '1', { contentType: 'text/plain', createOnly: true })
      const second = await objects.put(probe, '2', { contentType: 'text/plain', createOnly: true })
      await objects.delete(probe)
      return second === 'exists'
    })()
    conditionalWrites.catch(() => { conditionalWrites = undefined })
    return conditionalWrites
  }

  let ifMatchForm: Promise<IfMatchForm> | undefined

  /** Finds out once how the store takes If-Match on a PUT, by rewriting a probe with a wrong and then the right ETag. */
  function conditionalReplaceForm (): Promise<IfMatchForm> {
    ifMatchForm ??= (async () => {
      const probe = `${INTERNAL_PREFIX}probes/${newFileId()}`
      try {
        await objects.put(probe, '1', { contentType: 'text/plain' })
        const head = await objects.head(probe)
        const replace = async (ifMatch: string) => await objects.replace(probe, '2', { contentType: 'text/plain', ifMatch })
        if (head === undefined || await replace(`"${NO_SUCH_ETAG}"`) === 'replaced') return 'unsupported'
        if (await replace(`"${head.etag}"`) === 'replaced') return 'quoted'
        if (await replace(head.etag) === 'replaced') return 'bare'
        return 'unsupported'
      } finally {
        await objects.delete(probe)
      }
    })()
    ifMatchForm.catch(() => { ifMatchForm = undefined })
    return ifMatchForm
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
    if (checkTombstone.Check(parsed)) return new Tombstone(parsed.uploaded_by, parsed.key)
    throw new CorruptRecordError(`record ${id} does not match the record schema`)
  }

  async function update (id: string, change: (current: FileRecord) => FileRecord | undefined): Promise<FileRecord | undefined> {
    const key = recordKeyFor(id)
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const read = await objects.getTextAndEtag(key)
      if (read === undefined) return undefined
      const current = parse(id, read.text)
      if (current instanceof Tombstone) return undefined
      const next = change(current)
      if (next === undefined) return undefined
      const body = JSON.stringify(next)
      if (body === JSON.stringify(current)) return current
      const form = await conditionalReplaceForm()
      if (form === 'unsupported') {
        await objects.put(key, body, { contentType: 'application/json' })
        // A DELETE buries the record, then deletes the object: if the object is gone, this write may have overwritten
        // the tombstone of a DELETE that ran since the read, so put the tombstone back. (If the object is still there,
        // the DELETE's settleBurial puts it back after deleting the object.)
        if (await objects.head(next.key) !== undefined) return next
        await bury(next)
        return undefined
      }
      const outcome = await objects.replace(key, body, { contentType: 'application/json', ifMatch: form === 'quoted' ? `"${read.etag}"` : read.etag })
      if (outcome === 'replaced') return next
      // Changed or deleted since it was read: read it again.
    }
    throw Object.assign(new StorageUnavailableError(), { cause: new Error(`record ${id} kept changing during ${UPDATE_ATTEMPTS} update attempts`) })
  }

  async function bury ({ id, uploaded_by: owner, key }: Pick<FileRecord, 'id' | 'uploaded_by' | 'key'>): Promise<void> {
    const at = Date.now()
    await Promise.all([
      objects.delete(ownerIndexKeyFor(owner, id)),
      objects.put(burialKeyFor(id, at), '', { contentType: 'application/octet-stream' }),
    ])
    await objects.put(recordKeyFor(id), JSON.stringify({ id, uploaded_by: owner, deleted_at: new Date(at).toISOString(), key }), { contentType: TOMBSTONE_TYPE })
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
      return found instanceof Tombstone ? { buried: true, uploaded_by: found.owner, key: found.key } : found
    },
    async settleBurial (record) {
      // An update always learns the store's form before it writes: if none has asked in this process, none is racing.
      if (ifMatchForm === undefined || await ifMatchForm.catch(() => undefined) !== 'unsupported') return
      if (await get(record.id) !== undefined) await bury(record)
    },
    prepareWrites () {
      // A failed probe is forgotten, and run again by the write that needs it.
      supportsConditionalWrites().catch(() => undefined)
    },
    async exists (id) {
      const head = await objects.head(recordKeyFor(id))
      return head !== undefined && head.contentType !== TOMBSTONE_TYPE
    },
    async create (record) {
      const body = JSON.stringify(record)
      if (!(await supportsConditionalWrites())) {
        // Read-then-write: racy, which is acceptable only on stores that cannot do better.
        const found = await read(record.id)
        if (found !== undefined) return existing(record.id, found)
        await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json' })
        return { created: true, record }
      }
      const outcome = await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json', createOnly: true })
      if (outcome === 'created') return { created: true, record }
      return existing(record.id, await read(record.id))
    },
    bury,
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
      const form = await conditionalReplaceForm()
      return form === 'unsupported' ? undefined : form === 'quoted' ? `"${etag}"` : etag
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
