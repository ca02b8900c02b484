// The multipart service: large and resumable uploads in parts straight to S3, checked and recorded as a POST upload is.
import type { Config } from '../config.js'
import type { EventOutbox } from '../events/outbox.js'
import {
  UploadBusyError, UploadCompletedError, UploadIncompleteError, UploadNotFoundError, UploadRejectedError, ValidationError,
} from '../errors.js'
import { createPresigner } from '../storage/presigner.js'
import type { RecordStore } from '../storage/record-store.js'
import type { ObjectStore, S3Clients, StoredPart } from '../storage/s3.js'
import { decodeCursor, encodeCursor } from '../uploads/cursor.js'
import { createUploadPlanner, type UploadRequest } from '../uploads/new-upload.js'
import { createUploadRecorder, type ConfirmResult } from '../uploads/upload-recorder.js'
import { multipartEtag } from './multipart-etag.js'
import { findPartProblems, listNumbers, partSizeOf, planParts, type PartPlan } from './part-plan.js'
import type { MultipartSession, SessionStore } from './session-store.js'
import { createOwnerCounts } from '../storage/owner-counts.js'

export interface MultipartCreated {
  readonly file_id: string
  readonly key: string
  readonly part_size: number
  readonly part_count: number
  /** Seconds until the upload expires (MULTIPART_TTL): then it can no longer be completed, and cleanup aborts it. */
  readonly expires_in: number
}

export interface SignedPart { readonly number: number, readonly url: string, readonly headers: Readonly<Record<string, string>>, readonly size: number }
export interface SignedParts { readonly parts: readonly SignedPart[], readonly expires_in: number }

export interface MultipartSummary {
  readonly file_id: string
  readonly key: string
  readonly filename: string
  readonly content_type: string
  readonly size: number
  readonly part_size: number
  readonly part_count: number
  readonly created_at: string
  readonly expires_at: string
}

export interface MultipartStatus extends MultipartSummary {
  readonly parts: ReadonlyArray<{ readonly number: number, readonly size: number, readonly etag: string }>
}

export interface MultipartPage { readonly items: readonly MultipartSummary[], readonly next_cursor: string | null }

export interface MultipartService {
  create (request: UploadRequest & { readonly size: number }): Promise<MultipartCreated>
  /** URLs for parts (1–100 at once); `md5` (base64) makes S3 refuse other bytes. */
  signParts (owner: string, id: string, parts: ReadonlyArray<{ readonly number: number, readonly md5?: string | undefined }>): Promise<SignedParts>
  /** The session and the parts S3 holds, for resuming. */
  get (owner: string, id: string): Promise<MultipartStatus>
  /** The owner's unfinished uploads, newest first. */
  list (owner: string, page: { limit: number, cursor?: string | undefined }): Promise<MultipartPage>
  /** Checks the parts, completes the upload in S3, then checks and records the object as confirm does. */
  complete (owner: string, id: string): Promise<ConfirmResult>
  abort (owner: string, id: string): Promise<void>
}

export interface MultipartServiceDeps {
  readonly config: Config
  readonly clients: S3Clients
  readonly objects: ObjectStore
  readonly records: RecordStore
  readonly sessions: SessionStore
  /** Where file.created events go; none written without it. */
  readonly events?: EventOutbox | undefined
  readonly now?: () => number
}

export function createMultipartService ({ config, clients, objects, records, sessions, events, now = Date.now }: MultipartServiceDeps): MultipartService {
  const { uploads } = config
  const presigner = createPresigner(clients.public, clients.bucket)
  const counts = createOwnerCounts({ objects, records, now })
  const planUpload = createUploadPlanner({ config, counts, now })
  const recorder = createUploadRecorder({ config, objects, records, counts, events, now })
  const ttlMs = uploads.multipartTtlSeconds * 1000

  const planOf = (session: MultipartSession): PartPlan => ({ size: session.size, partSize: session.part_size, partCount: session.part_count })
  const expiresAt = (session: MultipartSession): number => Date.parse(session.created_at) + ttlMs

  /** The caller's session; another owner's, a missing or (unless `evenExpired`) an expired one is 404, as for files. */
  async function ownedSession (owner: string, id: string, evenExpired = false): Promise<MultipartSession> {
    const session = await sessions.get(id)
    if (session === undefined || session.owner !== owner || (!evenExpired && now() >= expiresAt(session))) throw new UploadNotFoundError()
    return session
  }

  function summary (session: MultipartSession): MultipartSummary {
    return {
      file_id: session.id,
      key: session.key,
      filename: session.filename,
      content_type: session.content_type,
      size: session.size,
      part_size: session.part_size,
      part_count: session.part_count,
      created_at: session.created_at,
      expires_at: new Date(expiresAt(session)).toISOString(),
    }
  }

  /** Aborts the S3 upload and removes the session: parts that cannot make the declared file are never completed. */
  async function discard (session: MultipartSession, reason: string): Promise<never> {
    await objects.abortMultipartUpload(session.key, session.upload_id)
    await sessions.remove(session)
    throw new UploadRejectedError(`${reason}; the upload was aborted`)
  }

  /** The object S3 assembled: the shared checks of confirm, after those only a multipart upload has. */
  async function checkCompleted (session: MultipartSession, parts: readonly StoredPart[] | undefined): Promise<ConfirmResult> {
    const { id, key, owner } = session
    const [inspected, ownerCount] = await Promise.all([recorder.inspect(key), recorder.readOwnerCount(owner)])
    if (inspected === undefined) {
      // The upload is gone and made no object: aborted, or (on stores that assemble slowly) still being completed.
      if (await sessions.exists(id)) throw new UploadBusyError()
      throw new UploadNotFoundError()
    }
    try {
      if (inspected.head.size !== session.size) return await recorder.reject(key, id, `the object is ${inspected.head.size} bytes, not the declared ${session.size}`)
      const expected = parts === undefined ? undefined : multipartEtag(parts.map((p) => p.etag))
      if (expected !== undefined && inspected.head.etag !== expected) {
        return await recorder.reject(key, id, `the object's ETag ${inspected.head.etag} is not ${expected}, the one its parts make`)
      }
      // No copy: once completed, the object can no longer change (its part URLs name an upload that is gone, and only
      // filegate starts uploads), so the checked object is the served one.
      const result = await recorder.checkAndRecord({ owner, id, key, uploadedAt: inspected.head.lastModified, inspected, ownerCount, refuseOrphans: false })
      // Removed only once the record stands: until then cleanup's orphan sweep leaves the object alone.
      await sessions.remove(session)
      return result
    } catch (error) {
      if (error instanceof UploadRejectedError) await sessions.remove(session)
      throw error
    }
  }

  return {
    async create (request) {
      const upload = await planUpload(request)
      const plan = planParts(request.size)
      const uploadId = await objects.createMultipartUpload(upload.key, { contentType: upload.contentType, metadata: upload.metadata })
      const session: MultipartSession = {
        id: upload.id,
        key: upload.key,
        upload_id: uploadId,
        owner: request.owner,
        filename: request.filename,
        content_type: upload.contentType,
        size: plan.size,
        part_size: plan.partSize,
        part_count: plan.partCount,
        created_at: new Date(now()).toISOString(),
      }
      try {
        await sessions.put(session)
      } catch (error) {
        // Without its session no one can finish or find the upload; cleanup would abort it after MULTIPART_TTL.
        await objects.abortMultipartUpload(upload.key, uploadId).catch(() => undefined)
        throw error
      }
      return { file_id: upload.id, key: upload.key, part_size: plan.partSize, part_count: plan.partCount, expires_in: uploads.multipartTtlSeconds }
    },

    async signParts (owner, id, parts) {
      const session = await ownedSession(owner, id)
      const plan = planOf(session)
      const outside = parts.filter((p) => p.number > plan.partCount).map((p) => p.number)
      if (outside.length > 0) throw new ValidationError(`part ${listNumbers(outside)} ${outside.length === 1 ? 'is' : 'are'} outside 1..${plan.partCount}: the upload has ${plan.partCount} parts`)
      const numbers = new Set(parts.map((p) => p.number))
      if (numbers.size !== parts.length) throw new ValidationError('each part number may be asked for once per request')
      const signed = await Promise.all(parts.map(async ({ number, md5 }): Promise<SignedPart> => {
        const size = partSizeOf(plan, number)
        const url = await presigner.presignUploadPart({
          key: session.key, uploadId: session.upload_id, partNumber: number, contentLength: size, contentMd5: md5, expiresSeconds: uploads.urlExpiresSeconds,
        })
        const headers: Record<string, string> = md5 === undefined ? {} : { 'content-md5': md5 }
        return { number, url, headers, size }
      }))
      return { parts: signed, expires_in: uploads.urlExpiresSeconds }
    },

    async get (owner, id) {
      const session = await ownedSession(owner, id)
      const parts = await objects.listParts(session.key, session.upload_id)
      // Completed or aborted a moment ago: no longer an unfinished upload.
      if (parts === undefined) throw new UploadNotFoundError()
      return { ...summary(session), parts: parts.map(({ number, size, etag }) => ({ number, size, etag })) }
    },

    async list (owner, { limit, cursor }) {
      const page = await sessions.listOwner(owner, { limit, token: cursor === undefined ? undefined : decodeCursor(cursor) })
      const items = page.sessions.filter((s) => now() < expiresAt(s)).map(summary)
      return { items, next_cursor: page.nextToken === undefined ? null : encodeCursor(page.nextToken) }
    },

    async complete (owner, id) {
      const session = await sessions.get(id)
      if (session === undefined || session.owner !== owner) {
        // Completed before: the record answers, as a repeated confirm does.
        const record = await records.get(id)
        if (record !== undefined && record.uploaded_by === owner) return { created: false, record }
        throw new UploadNotFoundError()
      }
      // Past MULTIPART_TTL cleanup may be aborting it right now.
      if (now() >= expiresAt(session)) throw new UploadNotFoundError()
      records.prepareWrites()
      const stored = await objects.listParts(session.key, session.upload_id)
      // Gone: completed by another request (its object is checked like ours), or aborted.
      if (stored === undefined) return await checkCompleted(session, undefined)
      const plan = planOf(session)
      const { missing, wrongSize } = findPartProblems(plan, stored)
      if (missing.length > 0) throw new UploadIncompleteError(`part${missing.length === 1 ? '' : 's'} ${listNumbers(missing)} of ${plan.partCount} ${missing.length === 1 ? 'is' : 'are'} missing`)
      const [wrong] = wrongSize
      if (wrong !== undefined) await discard(session, `part ${wrong.number} is ${wrong.size} bytes, not ${wrong.expected}, so the parts do not add up to ${plan.size} bytes`)
      const parts = stored.filter((p) => p.number <= plan.partCount)
      await objects.completeMultipartUpload(session.key, session.upload_id, parts)
      return await checkCompleted(session, parts)
    },

    async abort (owner, id) {
      const session = await sessions.get(id)
      if (session === undefined || session.owner !== owner) {
        // Completed before (its complete removed the session once the file was recorded): the file stands.
        const record = await records.get(id)
        if (record !== undefined && record.uploaded_by === owner) throw new UploadCompletedError()
        throw new UploadNotFoundError()
      }
      await objects.abortMultipartUpload(session.key, session.upload_id)
      // Completed meanwhile: its complete removes the session once the file is recorded. RGW may accept an abort that
      // races a complete and complete the object all the same, so the object is looked for whatever the abort answered.
      if (await objects.head(session.key) !== undefined) throw new UploadCompletedError()
      await sessions.remove(session)
    },
  }
}
