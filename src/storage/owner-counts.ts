// Per-owner file counts for MAX_FILES_PER_OWNER: one small JSON object per owner, changed only by conditional writes.
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { StorageUnavailableError } from '../errors.js'
import { decodeOwner, encodeOwner } from '../uploads/owner-encoding.js'
import { INTERNAL_PREFIX, type RecordStore } from './record-store.js'
import type { ObjectStore } from './s3.js'

const COUNTS_PREFIX = `${INTERNAL_PREFIX}counts/`
/** Ids of the owner's latest deletions, so that a DELETE repeated or racing itself takes its file off the count once. */
const RECENT_DELETES = 64
/** Attempts of one change racing others: each failed attempt means another change to the same count succeeded. */
const CHANGE_ATTEMPTS = 100

export function ownerCountKeyFor (owner: string): string {
  return `${COUNTS_PREFIX}${encodeOwner(owner)}.json`
}

/** Every owner that has a count, a page at a time (for the recount of `npm run cleanup -- --recount`). */
export async function listCountedOwners (objects: ObjectStore, page: { limit: number, token: string | undefined }): Promise<{ owners: string[], nextToken: string | undefined }> {
  const listed = await objects.list(COUNTS_PREFIX, { maxKeys: page.limit, continuationToken: page.token })
  const owners = listed.objects.flatMap((o) => o.key.endsWith('.json') ? [decodeOwner(o.key.slice(COUNTS_PREFIX.length, -'.json'.length))] : [])
  return { owners, nextToken: listed.nextToken }
}

const CountSchema = Type.Object({
  files: Type.Integer({ minimum: 0 }),
  deleted: Type.Array(Type.String(), { maxItems: RECENT_DELETES }),
  updated_at: Type.String(),
})
const checkCount = Compile(CountSchema)

/** An owner's count as read, with the ETag a conditional write names. */
export interface OwnerCount { readonly files: number, readonly deleted: readonly string[], readonly etag: string, readonly updatedAt: number }

export interface OwnerCounts {
  /** The owner's count: one GET, no write; undefined when there is none yet (or it is unreadable). */
  peek (owner: string): Promise<OwnerCount | undefined>
  /** How many entries the owner's index holds, listing at most until `atMost`: for an owner with no count yet. */
  countIndex (owner: string, atMost: number): Promise<number>
  /** The owner's count: one GET. A missing or unreadable count is rebuilt from the owner's index first (a listing, once). */
  read (owner: string): Promise<OwnerCount>
  /**
   * Counts one more file if the owner has fewer than `cap`: true when counted, false when full. `first` is a count read
   * beforehand (beside other reads), tried first. Exact under races: the write is conditional on the version read.
   */
  reserve (owner: string, cap: number, first?: OwnerCount): Promise<boolean>
  /** Takes back a reservation whose file was not recorded (a repeated confirm, or one that lost to a DELETE). */
  release (owner: string): Promise<void>
  /**
   * Counts one file fewer once it is deleted; the same id twice (a repeated or racing DELETE) counts once. `first` is a
   * count read beforehand, tried first.
   */
  removed (owner: string, id: string, first?: OwnerCount): Promise<void>
  /**
   * Rebuilds the count from the owner's index if it has not changed for `quietMs` (so no confirm or DELETE that changed
   * it is still in flight); 'repaired' when it was wrong, 'kept' when right, 'busy' when it changed too recently.
   */
  recount (owner: string, quietMs: number): Promise<'repaired' | 'kept' | 'busy'>
}

export function createOwnerCounts ({ objects, records, now = Date.now }: { objects: ObjectStore, records: RecordStore, now?: () => number }): OwnerCounts {
  const body = (files: number, deleted: readonly string[]) => JSON.stringify({ files, deleted, updated_at: new Date(now()).toISOString() })

  async function countIndex (owner: string, atMost = Number.MAX_SAFE_INTEGER): Promise<number> {
    return await records.countOwnerFiles(owner, atMost)
  }

  async function load (owner: string): Promise<OwnerCount | undefined> {
    const found = await objects.getTextAndEtag(ownerCountKeyFor(owner))
    if (found === undefined) return undefined
    let parsed: unknown
    try {
      parsed = JSON.parse(found.text)
    } catch {
      return { files: -1, deleted: [], etag: found.etag, updatedAt: 0 }
    }
    // An unreadable count is marked with -1: read() rebuilds it.
    if (!checkCount.Check(parsed)) return { files: -1, deleted: [], etag: found.etag, updatedAt: 0 }
    return { files: parsed.files, deleted: parsed.deleted, etag: found.etag, updatedAt: Date.parse(parsed.updated_at) }
  }

  /** Writes `next` over the version `current` read; false when it changed meanwhile. */
  async function write (owner: string, current: OwnerCount, files: number, deleted: readonly string[]): Promise<boolean> {
    const key = ownerCountKeyFor(owner)
    const ifMatch = await records.ifMatchFor(current.etag)
    // A store without conditional writes (the embedded development store) gets a plain write: not exact under races.
    if (ifMatch === undefined) {
      await objects.put(key, body(files, deleted), { contentType: 'application/json' })
      return true
    }
    return await objects.replace(key, body(files, deleted), { contentType: 'application/json', ifMatch }) === 'replaced'
  }

  async function read (owner: string): Promise<OwnerCount> {
    for (let attempt = 1; attempt <= CHANGE_ATTEMPTS; attempt++) {
      const found = await load(owner)
      if (found !== undefined && found.files >= 0) return found
      const files = await countIndex(owner)
      if (found === undefined) {
        // Create-only: of two instances building it at once, one writes and the other reads what it wrote.
        await objects.put(ownerCountKeyFor(owner), body(files, []), { contentType: 'application/json', createOnly: true })
      } else {
        await write(owner, found, files, [])
      }
    }
    throw busy(owner)
  }

  /** Applies `change` to the latest count until a conditional write succeeds; `change` returning undefined writes nothing. */
  async function change (owner: string, first: OwnerCount | undefined, next: (count: OwnerCount) => { files: number, deleted: readonly string[] } | undefined): Promise<boolean> {
    let current = first ?? await read(owner)
    for (let attempt = 1; attempt <= CHANGE_ATTEMPTS; attempt++) {
      const wanted = next(current)
      if (wanted === undefined) return false
      if (await write(owner, current, wanted.files, wanted.deleted)) return true
      // A short random pause spreads the writers that lost together, so they do not all collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)))
      current = await read(owner)
    }
    throw busy(owner)
  }

  return {
    async peek (owner) {
      const found = await load(owner)
      return found === undefined || found.files < 0 ? undefined : found
    },
    countIndex,
    read,
    async reserve (owner, cap, first) {
      return await change(owner, first !== undefined && first.files >= 0 ? first : undefined, (c) => c.files < cap ? { files: c.files + 1, deleted: c.deleted } : undefined)
    },
    async release (owner) {
      await change(owner, undefined, (c) => c.files > 0 ? { files: c.files - 1, deleted: c.deleted } : undefined)
    },
    async removed (owner, id, first) {
      const current = first ?? await load(owner)
      // No count yet: built now from the index, which no longer lists the file, so there is nothing to take off.
      if (current === undefined || current.files < 0) {
        await read(owner)
        return
      }
      await change(owner, current, (c) => c.deleted.includes(id) ? undefined : { files: Math.max(0, c.files - 1), deleted: [id, ...c.deleted].slice(0, RECENT_DELETES) })
    },
    async recount (owner, quietMs) {
      const current = await load(owner)
      if (current !== undefined && current.files >= 0 && now() - current.updatedAt < quietMs) return 'busy'
      const files = await countIndex(owner)
      if (current !== undefined && current.files === files) return 'kept'
      if (current === undefined) await objects.put(ownerCountKeyFor(owner), body(files, []), { contentType: 'application/json', createOnly: true })
      else if (!(await write(owner, current, files, current.files >= 0 ? current.deleted : []))) return 'busy'
      return 'repaired'
    },
  }
}

function busy (owner: string): Error {
  return Object.assign(new StorageUnavailableError(), { cause: new Error(`the file count of ${owner} kept changing during ${CHANGE_ATTEMPTS} attempts`) })
}
