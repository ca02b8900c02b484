// The upload service: the rules of filegate (grants, confirm, download, list, delete) and the only caller of the presigners.
import { MAX_POST_SIZE, type Config } from '../config.js'
import {
  FileInfectedError, FileNotFoundError, InvalidKeyError, PostTooLargeError, ScanPendingError, UploadNotFoundError, VariantNotFoundError,
} from '../errors.js'
import type { EventOutbox } from '../events/outbox.js'
import type { FileRecord } from '../schemas/file-record.js'
import { mapBounded } from '../storage/bounded-map.js'
import { createPresigner } from '../storage/presigner.js'
import { createOwnerCounts } from '../storage/owner-counts.js'
import { servedKeyOf, type RecordStore } from '../storage/record-store.js'
import type { ObjectStore, S3Clients } from '../storage/s3.js'
import { contentDisposition } from './content-disposition.js'
import { isInlineSafe } from './content-types.js'
import { keyLayouts, parseUploadKey } from './key-layout.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { createUploadPlanner, type UploadRequest } from './new-upload.js'
import { variantKeysOf } from '../variants/variant-spec.js'
import { servedKeyFor } from './served-key.js'
import { createUploadRecorder, type ConfirmResult } from './upload-recorder.js'

export type { UploadRequest } from './new-upload.js'

/** Record reads of one listing in flight at once: a page of 100 leaves the S3 pool to other requests too. */
const RECORD_READ_CONCURRENCY = 16

export interface UploadGrant {
  readonly url: string
  readonly key: string
  readonly fields: Readonly<Record<string, string>>
  readonly expires_in: number
  readonly max_size: number
  readonly file_id: string
}

export interface DownloadRequest {
  /** The caller, or undefined for one without a token (who may download public files only). */
  readonly owner: string | undefined
  readonly id: string
  readonly filename?: string | undefined
  readonly disposition?: 'inline' | 'attachment' | undefined
  readonly expiresIn?: number | undefined
  /** A rendition's name (VARIANTS) instead of the file itself. */
  readonly variant?: string | undefined
}

export interface DownloadGrant { readonly download_url: string, readonly expires_in: number }

/** A listed file; with `withDownloadUrls`, a servable one carries a download URL (a file not served, none). */
export type ListedFile = FileRecord & { readonly download_url?: string }

export interface FilePage {
  readonly items: readonly ListedFile[]
  readonly next_cursor: string | null
  /** Seconds the listed download URLs stay valid, when they were asked for. */
  readonly download_expires_in?: number
}

export interface BatchDownloadRequest {
  readonly owner: string
  /** 1 to 100 file ids; a repeated id is read and answered once. */
  readonly ids: readonly string[]
  readonly disposition?: 'inline' | 'attachment' | undefined
  readonly expiresIn?: number | undefined
}

/** A file of the caller's that is not served now (scanning): why, with the code its single download would answer. */
export interface UnservedFile { readonly id: string, readonly code: 'SCAN_PENDING' | 'FILE_INFECTED', readonly message: string }

export interface BatchDownloadGrant {
  readonly items: ReadonlyArray<{ readonly id: string, readonly download_url: string, readonly expires_in: number }>
  /** Missing, deleted and other owners' ids alike, so ids cannot be probed. */
  readonly not_found: readonly string[]
  readonly unavailable: readonly UnservedFile[]
}

export interface UploadService {
  createUploadUrl (request: UploadRequest): Promise<UploadGrant>
  confirmUpload (owner: string, key: string): Promise<ConfirmResult>
  createDownloadUrl (request: DownloadRequest): Promise<DownloadGrant>
  /** Download URLs of many of the owner's files: one record read each, in parallel (bounded), nothing else from S3. */
  createDownloadUrls (request: BatchDownloadRequest): Promise<BatchDownloadGrant>
  getFile (owner: string, id: string): Promise<FileRecord>
  listFiles (owner: string, page: { limit: number, cursor?: string | undefined, withDownloadUrls?: boolean | undefined }): Promise<FilePage>
  deleteFile (owner: string, id: string): Promise<void>
  /** Shares (true) or unshares (false) the owner's file: a public file's download URL needs no token. */
  setPublic (owner: string, id: string, isPublic: boolean): Promise<FileRecord>
}

export interface UploadServiceDeps {
  readonly config: Config
  readonly clients: S3Clients
  readonly objects: ObjectStore
  readonly records: RecordStore
  /** Where the events of changes go (file.created, file.updated, file.deleted); none written without it. */
  readonly events?: EventOutbox | undefined
  readonly now?: () => number
}

export function createUploadService ({ config, clients, objects, records, events, now = Date.now }: UploadServiceDeps): UploadService {
  const { uploads, downloads } = config
  const layout = keyLayouts[uploads.layout]
  const presigner = createPresigner(clients.public, clients.bucket)
  const counts = createOwnerCounts({ objects, records, now })
  const capped = uploads.maxFilesPerOwner > 0
  const planUpload = createUploadPlanner({ config, counts, now })
  const recorder = createUploadRecorder({ config, objects, records, counts, events, now })

  /** A confirm of an upload that is gone: cleanup removed it after its file was recorded, or it never was. */
  async function confirmedBefore (owner: string, id: string): Promise<ConfirmResult> {
    const record = await records.get(id)
    if (record === undefined || record.uploaded_by !== owner || await objects.head(servedKeyOf(record)) === undefined) throw new UploadNotFoundError()
    return { created: false, record }
  }

  /**
   * With scanning on, only a clean file is served: the error a download of any other answers (409 while pending or
   * unscannable, 410 once found infected), or undefined when the file is served.
   */
  function whyNotServed (record: FileRecord): InstanceType<typeof ScanPendingError> | InstanceType<typeof FileInfectedError> | undefined {
    const scan = record.scan
    if (scan === undefined || scan.status === 'clean') return undefined
    if (scan.status === 'infected') return new FileInfectedError(scan.signature ?? 'a virus')
    return new ScanPendingError(scan.status === 'pending'
      ? 'The file has not been scanned yet; try again shortly'
      : `The file could not be scanned, so it is not served: ${scan.message ?? 'the scanner failed'}`)
  }

  /** Signs a GET of a servable record (or one of its renditions): in-process, no S3 call. */
  async function signDownload (record: FileRecord, { filename, disposition, expiresIn, variant }: Omit<DownloadRequest, 'owner' | 'id'>): Promise<DownloadGrant> {
    const expires = Math.min(expiresIn ?? downloads.urlExpiresSeconds, downloads.maxUrlExpiresSeconds)
    const rendition = variant === undefined ? undefined : record.variants?.find((v) => v.name === variant)
    if (variant !== undefined && rendition === undefined) throw new VariantNotFoundError(variant)
    const contentType = rendition?.content_type ?? record.content_type
    const inline = disposition === 'inline' && isInlineSafe(contentType)
    const name = filename ?? (rendition === undefined ? record.filename : `${record.filename.replace(/\.[^.]*$/, '')}-${rendition.name}.webp`)
    const url = await presigner.presignGet({
      key: rendition?.key ?? servedKeyOf(record),
      responseContentDisposition: contentDisposition(inline ? 'inline' : 'attachment', name),
      responseContentType: contentType,
      expiresSeconds: expires,
    })
    return { download_url: url, expires_in: expires }
  }

  /** The owner's records of `ids`, read RECORD_READ_CONCURRENCY at a time; undefined for a missing or another owner's. */
  async function ownedRecords (owner: string, ids: readonly string[]): Promise<Array<FileRecord | undefined>> {
    const found = await mapBounded(ids, RECORD_READ_CONCURRENCY, async (id) => await records.get(id))
    return found.map((record) => record?.uploaded_by === owner ? record : undefined)
  }

  async function ownedRecord (owner: string, id: string): Promise<FileRecord> {
    const record = await records.get(id)
    // Another owner's file answers exactly like a missing one, so ids cannot be probed.
    if (record === undefined || record.uploaded_by !== owner) throw new FileNotFoundError()
    return record
  }

  return {
    async createUploadUrl (request) {
      // One POST carries at most 5 GiB; larger files (MAX_FILE_SIZE allows up to 5 TiB) go in parts.
      if (request.size !== undefined && request.size <= uploads.maxFileSize && request.size > MAX_POST_SIZE) throw new PostTooLargeError(request.size, MAX_POST_SIZE)
      const upload = await planUpload(request)
      const maxSize = request.size ?? Math.min(uploads.maxFileSize, MAX_POST_SIZE)
      const fields: Record<string, string> = { 'Content-Type': upload.contentType }
      for (const [name, value] of Object.entries(upload.metadata)) fields[`x-amz-meta-${name}`] = value
      const { url, fields: signed } = await presigner.presignPost({
        key: upload.key,
        contentLength: [1, maxSize],
        fields,
        expiresSeconds: uploads.urlExpiresSeconds,
      })
      return { url, key: upload.key, fields: signed, expires_in: uploads.urlExpiresSeconds, max_size: maxSize, file_id: upload.id }
    },

    async confirmUpload (owner, key) {
      const parsed = parseUploadKey(key, uploads.prefix, layout)
      if (!parsed.ok) throw new InvalidKeyError(parsed.reason)
      // The grant stays valid after confirm, so its owner could still replace the upload: what is served is a copy at a
      // key no grant names. First the upload itself is checked (HEAD and first bytes, beside the owner's file count, read only), so a
      // request that is not the owner's, or an upload the checks refuse, copies nothing...
      records.prepareWrites()
      const [inspected, ownerCount] = await Promise.all([recorder.inspect(key), recorder.readOwnerCount(owner)])
      if (inspected === undefined) return await confirmedBefore(owner, parsed.id)
      const request = { owner, id: parsed.id, key, uploadedAt: inspected.head.lastModified, inspected, ownerCount, refuseOrphans: true }
      const settled = await recorder.precheck(request)
      if (settled !== undefined) return settled
      // ...then the copy. A copy whose ETag is the checked one holds the checked bytes (a single POST's ETag is the MD5 of
      // its bytes); otherwise the upload was replaced meanwhile (or the store's ETags are not MD5s, as with SSE-KMS), and
      // the copy, which nothing can change, is checked itself. Then the record and index entry: three round trips.
      const servedKey = servedKeyFor(parsed.id, parsed.ext, now())
      // A copy may take minutes (up to 5 GiB); a HEAD beside it answers a stalled store with 504 within S3_TIMEOUT_MS.
      const [copied] = await Promise.all([objects.copy(key, servedKey), objects.head(key)]).catch(async (error: unknown) => {
        await recorder.discardCopy(parsed.id, servedKey, error)
        throw error
      })
      if (copied === undefined) return await confirmedBefore(owner, parsed.id)
      const checked = copied.etag === inspected.head.etag && !inspected.changing
        ? inspected
        : await recorder.inspect(servedKey).catch(async (error: unknown) => {
          await recorder.discardCopy(parsed.id, servedKey, error)
          throw error
        })
      return await recorder.checkAndRecord({ ...request, servedKey, inspected: checked })
    },

    async createDownloadUrl ({ owner, id, ...options }) {
      const record = await records.get(id)
      // The owner may download their file; anyone, with a token or without, a public one. Everything else is a 404.
      if (record === undefined || (record.uploaded_by !== owner && !record.is_public)) throw new FileNotFoundError()
      const refusal = whyNotServed(record)
      if (refusal !== undefined) throw refusal
      return await signDownload(record, options)
    },

    async createDownloadUrls ({ owner, ids, disposition, expiresIn }) {
      const unique = [...new Set(ids)]
      const found = await ownedRecords(owner, unique)
      const items: Array<{ id: string, download_url: string, expires_in: number }> = []
      const notFound: string[] = []
      const unavailable: UnservedFile[] = []
      for (const [index, record] of found.entries()) {
        // Only the owner's own files: a public file of someone else's is downloaded one at a time (GET /files/download/:id).
        if (record === undefined) {
          notFound.push(unique[index] ?? '')
          continue
        }
        const refusal = whyNotServed(record)
        if (refusal !== undefined) {
          unavailable.push({ id: record.id, code: refusal.code as UnservedFile['code'], message: refusal.message })
          continue
        }
        items.push({ id: record.id, ...await signDownload(record, { disposition, expiresIn }) })
      }
      return { items, not_found: notFound, unavailable }
    },

    getFile: ownedRecord,

    async listFiles (owner, { limit, cursor, withDownloadUrls = false }) {
      const token = cursor === undefined ? undefined : decodeCursor(cursor)
      const page = await records.listOwnerIds(owner, { limit, token })
      // An index entry without a record (a confirm cut short, or one that lost a race with a DELETE) is skipped, not shown.
      const items = (await ownedRecords(owner, page.ids)).filter((r): r is FileRecord => r !== undefined)
      const next_cursor = page.nextToken === undefined ? null : encodeCursor(page.nextToken)
      if (!withDownloadUrls) return { items, next_cursor }
      const listed = await Promise.all(items.map(async (record): Promise<ListedFile> =>
        whyNotServed(record) === undefined ? { ...record, download_url: (await signDownload(record, {})).download_url } : record))
      return { items: listed, next_cursor, download_expires_in: Math.min(downloads.urlExpiresSeconds, downloads.maxUrlExpiresSeconds) }
    },

    async deleteFile (owner, id) {
      // With MAX_FILES_PER_OWNER, the owner's count is read beside the record, so that taking the file off it adds no round trip.
      const [found, ownerCount] = await Promise.all([records.getOrBuried(id), capped ? counts.peek(owner) : undefined])
      if (found === undefined || found.uploaded_by !== owner) throw new FileNotFoundError()
      // The served copy, the upload beside it when the file is served from a copy, and its variants: those listed, and
      // those a variants job may be writing now (their keys are fixed), so none outlives the file. The tombstone names
      // them all, for a DELETE cut short to be finished by its retry or by cleanup.
      const variantKeys = 'buried' in found ? found.variant_keys : variantKeysOf(found, config.variants.specs)
      const keys = [found.served_key, found.key, ...variantKeys].filter((key): key is string => key !== undefined)
      if ('buried' in found) {
        // A DELETE cut short after burying the record left its objects: finish it. Nothing left is a 404, as before.
        const left = await Promise.all(keys.map(async (key) => await objects.head(key) !== undefined))
        if (!left.includes(true)) throw new FileNotFoundError()
        // The count forgets a deleted id only after many later deletions, so a DELETE cut short is taken off it once.
        await Promise.all([...keys.map(async (key) => { await objects.delete(key) }), capped ? counts.removed(owner, id, ownerCount) : undefined])
        return
      }
      // The record goes first (its index entry, then the record becomes a tombstone that names the objects), the objects
      // last: whatever step fails, no record is left pointing at a deleted object, and a repeated DELETE finishes the job.
      // A confirm racing this one meets the tombstone, or finds the served object gone, and answers 404.
      // The file.deleted event is written beside the burial note (before the tombstone): a DELETE cut short before the
      // tombstone is repeated from the record and writes the same event (its id comes from the record), so consumers
      // get it once; one cut short after it already wrote it.
      const event = events?.companion('file.deleted')
      await records.bury(found, event, variantKeys)
      events?.made(event)
      // Off the count once off the index (never before: the count may be too high for a moment, never too low).
      await Promise.all([...keys.map(async (key) => { await objects.delete(key) }), capped ? counts.removed(owner, id, ownerCount) : undefined])
      await records.settleBurial(found, variantKeys)
    },

    async setPublic (owner, id, isPublic) {
      const event = events?.companion('file.updated')
      const record = await records.update(id, (current) => current.uploaded_by === owner ? { ...current, is_public: isPublic } : undefined, event)
      if (record === undefined) throw new FileNotFoundError()
      events?.made(event)
      return record
    },
  }
}
