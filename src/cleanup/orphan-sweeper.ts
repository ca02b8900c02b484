// The orphan sweeper: finds uploads that were never confirmed and are older than the orphan age, and deletes them.
import type { Config } from '../config.js'
import type { JobStore } from '../events/job-store.js'
import type { EventOutbox } from '../events/outbox.js'
import type { SessionStore } from '../multipart/session-store.js'
import { servedKeyOf, type RecordStore } from '../storage/record-store.js'
import type { ListedObject, ObjectStore } from '../storage/s3.js'
import { datePathFor, keyLayouts, parseUploadKey } from '../uploads/key-layout.js'
import { uploadOwnerOf } from '../uploads/new-upload.js'
import { SERVED_PREFIX, servedKeyId } from '../uploads/served-key.js'
import { variantsPrefixFor } from '../variants/variant-spec.js'
import { sweepMultipartUploads } from './multipart-sweeper.js'

const DAY_MS = 86_400_000
/** At most this many failures are described in a summary; all are counted. */
const MAX_FAILURES_SHOWN = 20

export interface SweepOptions {
  readonly objects: ObjectStore
  readonly records: RecordStore
  readonly sessions: SessionStore
  readonly uploads: Pick<Config['uploads'], 'prefix' | 'layout' | 'urlExpiresSeconds' | 'multipartTtlSeconds'>
  /** An upload with no record older than this is an orphan; must exceed UPLOAD_URL_EXPIRES. */
  readonly olderThanSeconds: number
  /** Date layout only: the days from `olderThanSeconds` to this much further back are listed, and no others. */
  readonly lookbackSeconds: number
  /** Count what would be deleted, delete nothing. */
  readonly dryRun?: boolean
  /** Stops the sweep between objects (the app closing). */
  readonly signal?: AbortSignal
  readonly now?: () => number
  /** Keys per listing call. */
  readonly pageSize?: number
  /** Objects examined at once. */
  readonly concurrency?: number
  /** The outbox (a record the sweep buries gets its file.deleted event) and consumers' marks to forget after the window. */
  readonly events?: { readonly outbox: EventOutbox, readonly jobs: JobStore, readonly dedupeWindowSeconds: number } | undefined
}

export interface SweepSummary {
  readonly dry_run: boolean
  readonly older_than_seconds: number
  /** The listed days (date layout), oldest first, or null when the whole prefix was listed. */
  readonly days: { readonly from: string, readonly to: string } | null
  /** Upload objects listed. */
  readonly scanned: number
  /** Orphans deleted (or, in a dry run, that would be). */
  readonly deleted: number
  /** Confirmed, younger than the orphan age, or not a filegate key. */
  readonly kept: number
  /** Uploads of confirmed files that are served from their checked copy, removed once their grant expired (or, in a dry run, that would be). */
  readonly staging_removed: number
  /** Checked copies no record names (left by a confirm that failed or lost a race), removed (or, in a dry run, that would be). */
  readonly copies_removed: number
  /** Tombstones of deleted files older than the orphan age, removed (or, in a dry run, that would be). */
  readonly tombstones_removed: number
  /** Objects of those deleted files still there (a DELETE cut short and not repeated: its variants, say), removed (or, in a dry run, that would be). */
  readonly leftovers_removed: number
  /** Unfinished multipart uploads older than MULTIPART_TTL, aborted with their sessions (or, in a dry run, that would be). */
  readonly multipart_aborted: number
  /** False when the store cannot list unfinished multipart uploads (the embedded store): only those with a session were looked at. */
  readonly multipart_uploads_listed: boolean
  /** Consumers' marks of handled events older than EVENTS_DEDUPE_WINDOW, removed (or, in a dry run, that would be). */
  readonly event_marks_removed: number
  readonly errors: number
  readonly failures: ReadonlyArray<{ readonly key: string, readonly message: string }>
  /** True when the sweep was stopped before it finished. */
  readonly aborted: boolean
}

/** The day prefixes `<prefix>yyyy/mm/dd/` from the UTC day of `from` to that of `to`, oldest first. */
export function dayPrefixesBetween (prefix: string, from: number, to: number): string[] {
  const prefixes: string[] = []
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) prefixes.push(`${prefix}${datePathFor(day)}/`)
  return prefixes
}

/** Runs `work` on each item with at most `limit` in flight. */
async function eachLimited<T> (items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]
      if (item !== undefined) await work(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/**
 * Deletes uploads that have no record and were last modified more than `olderThanSeconds` ago, with the owner
 * index entry a confirm cut short may have left. A confirmed upload (one with a record) is never touched.
 * Listing failures end the sweep (they throw); a failure on one object is counted and the sweep goes on.
 */
export async function sweepOrphans (options: SweepOptions): Promise<SweepSummary> {
  const { objects, records, sessions, uploads, olderThanSeconds, lookbackSeconds, dryRun = false, signal, now = Date.now, pageSize = 1000, concurrency = 8, events } = options
  if (olderThanSeconds <= uploads.urlExpiresSeconds) {
    throw new RangeError(`the orphan age (${olderThanSeconds} s) must be longer than UPLOAD_URL_EXPIRES (${uploads.urlExpiresSeconds} s), or uploads still in progress would be deleted`)
  }
  const layout = keyLayouts[uploads.layout]
  const cutoff = now() - olderThanSeconds * 1000
  // An upload's key carries the UTC day its grant was issued, which is no later than its last modification, so an
  // orphan (modified before the cutoff) is never under a day after the cutoff's; days before the look-back are not listed.
  const prefixes = uploads.layout === 'date' ? dayPrefixesBetween(uploads.prefix, cutoff - lookbackSeconds * 1000, cutoff) : [uploads.prefix]
  let scanned = 0
  let deleted = 0
  let kept = 0
  let stagingRemoved = 0
  let copiesRemoved = 0
  const failures: Array<{ key: string, message: string }> = []

  let aborted = false
  async function examine ({ key, lastModified }: ListedObject): Promise<void> {
    if (signal?.aborted === true) {
      aborted = true
      return
    }
    scanned++
    const parsed = parseUploadKey(key, uploads.prefix, layout)
    if (!parsed.ok || lastModified.getTime() > cutoff) {
      kept++
      return
    }
    try {
      const record = await records.get(parsed.id)
      if (record !== undefined && servedKeyOf(record) !== key) {
        // Confirmed and served from its copy: the upload is spent, and its grant has expired, so it stays gone.
        if (!dryRun) await objects.delete(key)
        stagingRemoved++
        return
      }
      // A completed multipart upload keeps its session until its record is written: asking for the record again after
      // the session closes the window between the two (its upload was created long ago, so its object looks old).
      if (record !== undefined || await sessions.exists(parsed.id) || await records.exists(parsed.id)) {
        kept++
        return
      }
      if (dryRun) {
        deleted++
        return
      }
      // The owner names the index entry a confirm cut short between its two writes may have left.
      const head = await objects.head(key)
      const owner = head === undefined ? undefined : uploadOwnerOf(head)
      await objects.delete(key)
      if (owner !== undefined) await records.removeFromOwnerIndex(owner, parsed.id)
      // Confirm refuses uploads past ORPHAN_TTL, so only a sweep with a shorter --older-than can race one; if it did,
      // the record now points at nothing: bury it too (as a DELETE would), and report it.
      const raced = await records.get(parsed.id)
      if (raced !== undefined && servedKeyOf(raced) !== key) {
        // The confirm copied the upload before it went, and serves the copy: only its index entry needs putting back.
        await records.addToOwnerIndex(raced.uploaded_by, raced.id)
        stagingRemoved++
        return
      }
      if (raced !== undefined) {
        const deletedEvent = events?.outbox.companion('file.deleted')
        await records.bury(raced, deletedEvent)
        events?.outbox.made(deletedEvent)
        throw new Error('a confirm raced with the sweep; its record was buried with the upload')
      }
      deleted++
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      failures.push({ key, message })
    }
  }

  sweep: for (const prefix of prefixes) {
    let token: string | undefined
    do {
      if (signal?.aborted === true) {
        aborted = true
        break sweep
      }
      const page = await objects.list(prefix, { maxKeys: pageSize, continuationToken: token })
      await eachLimited(page.objects, concurrency, examine)
      token = page.nextToken
    } while (token !== undefined)
  }

  // Copies are made at confirm and named by its record within the confirm's few seconds; older ones no record names are
  // left over. Only the days of the look-back window are listed, as for the date layout.
  async function examineCopy ({ key, lastModified }: ListedObject): Promise<void> {
    if (signal?.aborted === true) {
      aborted = true
      return
    }
    const id = servedKeyId(key)
    if (id === undefined || lastModified.getTime() > cutoff) return
    try {
      const record = await records.get(id)
      if (record !== undefined && servedKeyOf(record) === key) return
      if (!dryRun) await objects.delete(key)
      copiesRemoved++
    } catch (error) {
      failures.push({ key, message: error instanceof Error ? error.message : String(error) })
    }
  }
  copies: for (const prefix of dayPrefixesBetween(SERVED_PREFIX, cutoff - lookbackSeconds * 1000, cutoff)) {
    let token: string | undefined
    do {
      if (aborted || signal?.aborted === true) {
        aborted = true
        break copies
      }
      const page = await objects.list(prefix, { maxKeys: pageSize, continuationToken: token })
      await eachLimited(page.objects, concurrency, examineCopy)
      token = page.nextToken
    } while (token !== undefined)
  }

  const multipart = aborted
    ? { aborted: 0, stopped: true, listed: false }
    : await sweepMultipartUploads({
      objects, sessions, uploads, olderThanSeconds: uploads.multipartTtlSeconds, dryRun, signal, now, pageSize,
      fail: (key, error) => { failures.push({ key, message: error instanceof Error ? error.message : String(error) }) },
    })
  aborted ||= multipart.stopped

  /**
   * Before its tombstone goes, what a DELETE cut short may have left of the file: the objects the tombstone names, and
   * anything under its variants prefix (a variants job that wrote a rendition as the file was deleted, and died).
   * Uploads and copies would be found as orphans anyway; variants lie where only this finds them.
   */
  async function leftoversOf (id: string): Promise<string[]> {
    const found = await records.getOrBuried(id)
    if (found === undefined || !('buried' in found)) return []
    const named = [found.key, found.served_key, ...found.variant_keys].filter((key): key is string => key !== undefined)
    const [present, listed] = await Promise.all([
      Promise.all(named.map(async (key) => await objects.head(key) !== undefined ? [key] : [])),
      objects.list(variantsPrefixFor(id), { maxKeys: 1000 }),
    ])
    return [...new Set([...present.flat(), ...listed.objects.map((o) => o.key)])]
  }

  // A tombstone only has to outlive the confirms that were in flight when its file was deleted: the orphan age is ample.
  let tombstones = 0
  let leftovers = 0
  let burialToken: string | undefined
  do {
    if (signal?.aborted === true || aborted) {
      aborted = true
      break
    }
    const page = await records.listBurials(cutoff, { limit: pageSize, token: burialToken })
    await eachLimited(page.burials, concurrency, async (burial) => {
      try {
        const left = await leftoversOf(burial.id)
        if (!dryRun) {
          await Promise.all(left.map(async (key) => { await objects.delete(key) }))
          await records.removeTombstone(burial)
        }
        leftovers += left.length
        tombstones++
      } catch (error) {
        failures.push({ key: burial.noteKey, message: error instanceof Error ? error.message : String(error) })
      }
    })
    burialToken = page.nextToken
  } while (burialToken !== undefined)

  let eventMarks = 0
  if (events !== undefined && !aborted) {
    try {
      eventMarks = await events.jobs.pruneSeen(now() - events.dedupeWindowSeconds * 1000, { dryRun, signal })
    } catch (error) {
      failures.push({ key: '_filegate/outbox-seen/', message: error instanceof Error ? error.message : String(error) })
    }
  }

  const first = prefixes[0]
  const last = prefixes.at(-1)
  return {
    dry_run: dryRun,
    older_than_seconds: olderThanSeconds,
    days: uploads.layout === 'date' && first !== undefined && last !== undefined
      ? { from: first.slice(uploads.prefix.length, -1), to: last.slice(uploads.prefix.length, -1) }
      : null,
    scanned,
    deleted,
    kept,
    staging_removed: stagingRemoved,
    copies_removed: copiesRemoved,
    tombstones_removed: tombstones,
    leftovers_removed: leftovers,
    multipart_aborted: multipart.aborted,
    multipart_uploads_listed: multipart.listed,
    event_marks_removed: eventMarks,
    errors: failures.length,
    failures: failures.slice(0, MAX_FAILURES_SHOWN),
    aborted,
  }
}
