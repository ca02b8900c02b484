// The upload recorder: confirm's checks of an uploaded object and the record write, shared by POST confirm and multipart complete.
import type { Config } from '../config.js'
import type { EventOutbox } from '../events/outbox.js'
import { StorageTimeoutError, StorageUnavailableError, UploadNotFoundError, UploadRejectedError } from '../errors.js'
import type { FileRecord } from '../schemas/file-record.js'
import type { OwnerCount, OwnerCounts } from '../storage/owner-counts.js'
import { RecordBuriedError, RecordVanishedError, servedKeyOf, type RecordStore } from '../storage/record-store.js'
import type { ObjectHead, ObjectStore } from '../storage/s3.js'
import { verifyContentType, SNIFF_BYTES } from './content-sniffing.js'
import { isContentTypeAllowed } from './content-types.js'
import { decodeHeaderValue } from './header-safe.js'
import { callerMetadataOf, FILENAME_META, MD5_META, uploadOwnerOf } from './new-upload.js'

export interface ConfirmResult { readonly created: boolean, readonly record: FileRecord }

/** An uploaded object as confirm reads it: its HEAD and first bytes, and whether they kept disagreeing (it was being replaced). */
export interface InspectedUpload { readonly head: ObjectHead, readonly sample: Uint8Array, readonly changing: boolean }

export interface CheckRequest {
  readonly owner: string
  readonly id: string
  readonly key: string
  /**
   * The checked copy of a POST upload (`inspected` is the copy's): the record names it, downloads serve it, and it is
   * deleted unless the record ends up naming it. Absent when the upload key itself is served (a completed multipart).
   */
  readonly servedKey?: string | undefined
  /** When the upload (not its copy) was last written, for the orphan rule. */
  readonly uploadedAt: Date
  /** Undefined when there is no object at the key. */
  readonly inspected: InspectedUpload | undefined
  /** The owner's file count (readOwnerCount), when MAX_FILES_PER_OWNER is set. */
  readonly ownerCount: OwnerCount | undefined
  /**
   * A POST upload past ORPHAN_TTL may be being deleted by cleanup right now, so it is never recorded. A completed
   * multipart upload is not at risk (its session stands until its record is written, and cleanup leaves it alone).
   */
  readonly refuseOrphans: boolean
}

export interface UploadRecorder {
  /**
   * HEAD and a ranged GET of the first bytes in parallel: two reads, one round trip. If the object was replaced
   * between them (its grant is still valid), they are read again, and `changing` says they never agreed.
   */
  inspect (key: string): Promise<InspectedUpload | undefined>
  /** The owner's file count when MAX_FILES_PER_OWNER is set (one GET), read beside the upload so the reservation can start from it. */
  readOwnerCount (owner: string): Promise<OwnerCount | undefined>
  /**
   * Everything confirm checks once it has the object (owner binding, size and type limits, file name, content sniffing,
   * the declared MD5, the file cap), then the record and its index entry. A violating upload is deleted and answered
   * 422 UPLOAD_REJECTED, unless a record already exists (it is returned as it is).
   */
  checkAndRecord (request: CheckRequest): Promise<ConfirmResult>
  /** Removes a confirm's copy after a failure, unless a record names it. */
  discardCopy (id: string, servedKey: string, error: unknown): Promise<void>
  /** Deletes a violating upload (and its copy) and says why (422); a file recorded earlier is returned instead, never deleted. */
  reject (key: string, id: string, reason: string, servedKey?: string): Promise<ConfirmResult>
}

/** A plain MD5 ETag: 32 hex digits (a multipart or SSE-KMS / SSE-C ETag is not). */
const PLAIN_MD5 = /^[0-9a-f]{32}$/

export interface UploadRecorderDeps {
  readonly config: Config
  readonly objects: ObjectStore
  readonly records: RecordStore
  /** The per-owner file counts of MAX_FILES_PER_OWNER. */
  readonly counts: OwnerCounts
  /** Where file.created events go; none written without it. */
  readonly events?: EventOutbox | undefined
  readonly now: () => number
}

export function createUploadRecorder ({ config, objects, records, counts, events, now }: UploadRecorderDeps): UploadRecorder {
  const { uploads } = config

  async function rejectUpload (key: string, id: string, reason: string, servedKey?: string): Promise<ConfirmResult> {
    // The delete comes first, so a retry meets UPLOAD_NOT_FOUND.
    const confirmed = await records.get(id)
    if (confirmed !== undefined) return { created: false, record: confirmed }
    await Promise.all([objects.delete(key), servedKey === undefined ? undefined : objects.delete(servedKey)])
    throw new UploadRejectedError(reason)
  }

  /**
   * Writes the owner index entry and the record at once: one round trip. Both writes are idempotent, so a confirm cut
   * short between them is completed by the next one; until then an index entry without a record is never listed, and
   * a record without its index entry answers by id. A DELETE buries the record, so a confirm that checked the upload
   * before the DELETE removed it cannot write the record again: it takes its index entry back and answers 404.
   * The file.created event is written in the same batch (by the record store, beside the record).
   */
  async function recordUpload (record: FileRecord): Promise<ConfirmResult> {
    for (let attempt = 1; ; attempt++) {
      const event = events?.companion('file.created')
      const [indexed, created] = await Promise.allSettled([records.addToOwnerIndex(record.uploaded_by, record.id), records.create(record, event)])
      if (created.status === 'fulfilled') {
        if (indexed.status === 'rejected') throw indexed.reason
        if (created.value.created) events?.made(event)
        // A repeated confirm: unless a DELETE has begun (it removes the object first), the file stands as it was.
        if (created.value.created || await objects.head(servedKeyOf(created.value.record)) !== undefined) return created.value
      } else if (created.reason instanceof RecordVanishedError && attempt < 3) {
        continue
      } else if (!(created.reason instanceof RecordBuriedError)) {
        throw created.reason
      }
      // Deleted, or being deleted: this confirm's index entry must not outlive the DELETE's.
      if (indexed.status === 'fulfilled') await records.removeFromOwnerIndex(record.uploaded_by, record.id)
      throw new UploadNotFoundError()
    }
  }

  /**
   * Removes a confirm's copy after `error`, unless a record names it (a failure after the record was written, for a
   * retry to find). At once after a refusal; in the background when the store is failing, so that a stalled store does
   * not double the wait for the 504 (cleanup removes a copy this misses).
   */
  async function discardCopy (id: string, servedKey: string, error: unknown): Promise<void> {
    const discard = async (): Promise<void> => {
      const named = await records.get(id).then((record) => record?.served_key === servedKey, () => true)
      if (!named) await objects.delete(servedKey)
    }
    const storageFailing = error instanceof StorageTimeoutError || error instanceof StorageUnavailableError
    if (storageFailing) discard().catch(() => undefined)
    else await discard().catch(() => undefined)
  }

  return {
    discardCopy,

    async inspect (key) {
      for (let attempt = 1; ; attempt++) {
        const [head, sample] = await Promise.all([objects.head(key), objects.getRange(key, SNIFF_BYTES)])
        if (head === undefined || sample === undefined) return undefined
        // An empty object has no bytes and so no ETag from the ranged GET; the size check refuses it anyway.
        const agree = sample.bytes.length === 0 || sample.etag === head.etag
        if (agree || attempt === 3) return { head, sample: sample.bytes, changing: !agree }
      }
    },

    async readOwnerCount (owner) {
      // Read only: a confirm that is refused must write nothing, so a missing count is built when the place is taken.
      return uploads.maxFilesPerOwner > 0 ? await counts.peek(owner) : undefined
    },

    reject: rejectUpload,

    async checkAndRecord (request) {
      const { servedKey } = request
      if (servedKey === undefined) return await check(request)
      // The copy is this confirm's own: unless the record names it (not so after a repeated or concurrent confirm, a
      // rejection, or a failure before the record was written), it goes.
      let result: ConfirmResult
      try {
        result = await check(request)
      } catch (error) {
        await discardCopy(request.id, servedKey, error)
        throw error
      }
      if (result.record.served_key !== servedKey) await objects.delete(servedKey)
      return result
    },
  }

  /** The checks of one object (the copy, for a POST upload), then the record. */
  async function check ({ owner, id, key, servedKey, uploadedAt, inspected, ownerCount, refuseOrphans }: CheckRequest): Promise<ConfirmResult> {
    const reject = async (reason: string): Promise<ConfirmResult> => await rejectUpload(key, id, reason, servedKey)
    const head = inspected?.head
    if (head === undefined || uploadOwnerOf(head) !== owner) throw new UploadNotFoundError()

    // S3 enforced these where it could (a POST policy, signed part lengths); stores that do not are caught here.
    if (head.size < 1) return await reject('the file is empty')
    if (head.size > uploads.maxFileSize) return await reject(`the file is ${head.size} bytes, over the limit of ${uploads.maxFileSize}`)
    const contentType = head.contentType.toLowerCase()
    if (!isContentTypeAllowed(contentType, uploads.allowedContentTypes)) return await reject(`content type ${contentType || '(none)'} is not allowed`)
    const filename = decodeHeaderValue(head.metadata[FILENAME_META] ?? '')
    if (filename === undefined || filename === '') return await reject('the upload carries no file name')
    if (inspected?.changing === true) return await reject('the object kept changing while it was checked')
    const verdict = await verifyContentType(contentType, inspected?.sample ?? new Uint8Array())
    if (!verdict.ok) return await reject(`its content is ${verdict.detected}, not ${contentType}`)
    // The declared MD5 can be compared where the ETag is a plain MD5 (not with SSE-KMS or SSE-C): stores ignore it in a POST.
    const declaredMd5 = head.metadata[MD5_META]
    const etagMd5 = PLAIN_MD5.test(head.etag) ? Buffer.from(head.etag, 'hex').toString('base64') : undefined
    if (declaredMd5 !== undefined && etagMd5 !== undefined && declaredMd5 !== etagMd5) {
      return await reject(`its MD5 is ${etagMd5}, not the declared ${declaredMd5}`)
    }

    const record: FileRecord = {
      id,
      key,
      ...(servedKey !== undefined && { served_key: servedKey }),
      filename,
      content_type: contentType,
      size: head.size,
      etag: head.etag,
      ...(declaredMd5 !== undefined && declaredMd5 === etagMd5 && { md5: declaredMd5 }),
      uploaded_by: owner,
      is_public: false,
      metadata: callerMetadataOf(head),
      created_at: new Date(now()).toISOString(),
      // Not served until the scanner says it is clean.
      ...(config.scanning.enabled && { scan: { status: 'pending' as const } }),
    }
    if (refuseOrphans && now() - uploadedAt.getTime() >= uploads.orphanTtlSeconds * 1000 && !(await records.exists(record.id))) {
      throw new UploadNotFoundError()
    }
    if (uploads.maxFilesPerOwner === 0) return await recordUpload(record)
    return await recordCounted(record, ownerCount, reject)
  }

  /**
   * With MAX_FILES_PER_OWNER: the place is taken on the owner's count first (a conditional write, so concurrent confirms
   * can never take more places than there are), then the record is written; a confirm that records nothing new (a
   * repeat, or one that lost to a DELETE) gives its place back. A place not given back (a crash in between) only
   * makes the count too high, never too low; `npm run cleanup -- --recount` repairs it.
   */
  async function recordCounted (record: FileRecord, first: OwnerCount | undefined, reject: (reason: string) => Promise<ConfirmResult>): Promise<ConfirmResult> {
    const cap = uploads.maxFilesPerOwner
    if (!(await counts.reserve(record.uploaded_by, cap, first))) return await reject(`you already have ${cap} files, the most allowed`)
    let result: ConfirmResult
    try {
      result = await recordUpload(record)
    } catch (error) {
      // Best effort: if the release fails too, the count stays one too high (safe), until a recount.
      await counts.release(record.uploaded_by).catch(() => undefined)
      throw error
    }
    if (!result.created) await counts.release(record.uploaded_by)
    return result
  }
}
