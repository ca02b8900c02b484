// The record store: the only code that knows file records are JSON objects in the bucket, with an owner index beside them.
import { Compile } from 'typebox/compile'
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

export interface OwnerPage { readonly ids: readonly string[], readonly nextToken: string | undefined }

export interface RecordStore {
  get (id: string): Promise<FileRecord | undefined>
  /** Writes the record once: if one already exists, it is returned unchanged with `created: false`. */
  create (record: FileRecord): Promise<{ readonly created: boolean, readonly record: FileRecord }>
  delete (id: string): Promise<void>
  addToOwnerIndex (owner: string, id: string): Promise<void>
  removeFromOwnerIndex (owner: string, id: string): Promise<void>
  listOwnerIds (owner: string, page: { limit: number, token: string | undefined }): Promise<OwnerPage>
}

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

  async function get (id: string): Promise<FileRecord | undefined> {
    const text = await objects.getText(recordKeyFor(id))
    if (text === undefined) return undefined
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new CorruptRecordError(`record ${id} is not JSON`)
    }
    if (!checkRecord.Check(parsed)) throw new CorruptRecordError(`record ${id} does not match the record schema`)
    return parsed
  }

  return {
    get,
    async create (record) {
      const body = JSON.stringify(record)
      if (await supportsConditionalWrites()) {
        const outcome = await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json', createOnly: true })
        if (outcome === 'created') return { created: true, record }
      } else {
        // Read-then-write: racy, which is acceptable only on stores that cannot do better.
        const existing = await get(record.id)
        if (existing === undefined) {
          await objects.put(recordKeyFor(record.id), body, { contentType: 'application/json' })
          return { created: true, record }
        }
        return { created: false, record: existing }
      }
      const existing = await get(record.id)
      if (existing === undefined) throw new CorruptRecordError(`record ${record.id} exists but cannot be read`)
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
  }
}
