// The record store: the only code that knows file records are JSON objects in the bucket, with an owner index beside them.
import { Compile } from 'typebox/compile'
import { StorageUnavailableError } from '../errors.js'
import { FileRecordSchema, type FileRecord } from '../schemas/file-record.js'
import { fileIdTime, isFileId, newFileId } from '../uploads/file-id.js'
import { encodeOwner } from '../uploads/owner-encoding.js'
import type { ObjectStore } from './s3.js'

export const INTERNAL_PREFIX = '_filegate/'
const RECORDS_PREFIX = `${INTERNAL_PREFIX}records/`
const OWNERS_PREFIX = `${INTERNAL_PREFIX}owners/`
/** The largest UUID v7 timestamp; index keys sort by its difference so that S3's ascending listing is newest first. */
const MAX_ID_TIME = 2 ** 48 - 1

export function recordKeyFor (id: string): string {
  return `${RECORDS_PREFIX}${id}.json`
}

export function ownerIndexPrefix (owner: string): string {
  return `${OWNERS_PREFIX}${encodeOwner(owner)}/`
}

export function ownerIndexKeyFor (owner: string, id: string): string {
  return `${ownerIndexPrefix(owner)}${String(MAX_ID_TIME - fileIdTime(id)).padStart(15, '0')}-${id}`
}

const checkRecord = Compile(FileRecordSchema)

export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError'
}

/** A record existed when `create` wrote and was gone when it read: deleted in between (a DELETE racing a confirm). */
export class RecordVanishedError extends Error {
  override name = 'RecordVanishedError'
}

export interface OwnerPage { readonly ids: readonly string[], readonly nextToken: string | undefined }

export interface RecordStore {
  get (id: string): Promise<FileRecord | undefined>
  /** Whether a record exists, by a HEAD: cheaper than get when the content does not matter (cleanup). */
  exists (id: string): Promise<boolean>
  /**
   * Writes the record once: if one already exists, it is returned unchanged with `created: false`.
   * Throws RecordVanishedError if the existing one is deleted before it can be read.
   */
  create (record: FileRecord): Promise<{ readonly created: boolean, readonly record: FileRecord }>
  delete (id: string): Promise<void>
  addToOwnerIndex (owner: string, id: string): Promise<void>
  removeFromOwnerIndex (owner: string, id: string): Promise<void>
  listOwnerIds (owner: string, page: { limit: number, token: string | undefined }): Promise<OwnerPage>
  /**
   * Rewrites a record with `change(current)`; undefined when there is none or `change` declines (returns undefined).
   * Never recreates a record deleted meanwhile: the write is conditional on the version read (If-Match) where the
   * store supports it, and otherwise undone when the file's object has gone (a DELETE removes it first).
   */
  update (id: string, change: (current: FileRecord) => FileRecord | undefined): Promise<FileRecord | undefined>
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

  async function get (id: string): Promise<FileRecord | undefined> {
    const text = await objects.getText(recordKeyFor(id))
    return text === undefined ? undefined : parse(id, text)
  }

  function parse (id: string, text: string): FileRecord {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new CorruptRecordError(`record ${id} is not JSON`)
    }
    if (!checkRecord.Check(parsed)) throw new CorruptRecordError(`record ${id} does not match the record schema`)
    return parsed
  }

  async function update (id: string, change: (current: FileRecord) => FileRecord | undefined): Promise<FileRecord | undefined> {
    const key = recordKeyFor(id)
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const read = await objects.getTextAndEtag(key)
      if (read === undefined) return undefined
      const current = parse(id, read.text)
      const next = change(current)
      if (next === undefined) return undefined
      const body = JSON.stringify(next)
      if (body === JSON.stringify(current)) return current
      const form = await conditionalReplaceForm()
      if (form === 'unsupported') {
        await objects.put(key, body, { contentType: 'application/json' })
        // A DELETE deletes the object first and the record last: if the object is gone, this write may have
        // brought back a record the DELETE had already removed, so take it away again.
        if (await objects.head(next.key) !== undefined) return next
        await objects.delete(key)
        return undefined
      }
      const outcome = await objects.replace(key, body, { contentType: 'application/json', ifMatch: form === 'quoted' ? `"${read.etag}"` : read.etag })
      if (outcome === 'replaced') return next
      // Changed or deleted since it was read: read it again.
    }
    throw Object.assign(new StorageUnavailableError(), { cause: new Error(`record ${id} kept changing during ${UPDATE_ATTEMPTS} update attempts`) })
  }

  return {
    get,
    async exists (id) {
      return await objects.head(recordKeyFor(id)) !== undefined
    },
    async create (record) {
      const body = JSON.stringify(record)
      if (!(await supportsConditionalWrites())) {
        // Read-then-write: racy, which is acceptable only on stores that cannot do better.
        const existing = await get(record.id)
        if (existing === undefined) {
          await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json' })
          return { created: true, record }
        }
        return { created: false, record: existing }
      }
      const outcome = await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json', createOnly: true })
      if (outcome === 'created') return { created: true, record }
      const existing = await get(record.id)
      if (existing === undefined) throw new RecordVanishedError(`record ${record.id} was deleted between its create and its read`)
      return { created: false, record: existing }
    },
    async delete (id) {
      await objects.delete(recordKeyFor(id))
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
