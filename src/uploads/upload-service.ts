// The upload service: the rules of filegate (grants, confirm, download, list, delete) and the only caller of the presigners.
import type { Config } from '../config.js'
import {
  ContentTypeNotAllowedError, FileLimitReachedError, FileNotFoundError, FileTooLargeError, InvalidKeyError, UploadNotFoundError,
  UploadRejectedError, ValidationError,
} from '../errors.js'
import type { FileRecord } from '../schemas/file-record.js'
import { createPresigner } from '../storage/presigner.js'
import { RecordBuriedError, RecordVanishedError, type RecordStore } from '../storage/record-store.js'
import type { ObjectHead, ObjectStore, S3Clients } from '../storage/s3.js'
import { contentDisposition } from './content-disposition.js'
import { verifyContentType, SNIFF_BYTES } from './content-sniffing.js'
import { contentTypeForFilename, isContentTypeAllowed, isInlineSafe, keyExtensionFor } from './content-types.js'
import { newFileId } from './file-id.js'
import { decodeHeaderValue, encodeHeaderValue } from './header-safe.js'
import { keyLayouts, parseUploadKey } from './key-layout.js'
import { decodeCursor, encodeCursor } from './cursor.js'

/** Metadata keys filegate itself signs; callers cannot set them. */
const OWNER_META = 'uploaded-by'
const FILENAME_META = 'filename'
export const RESERVED_METADATA_KEYS: readonly string[] = [OWNER_META, FILENAME_META]
/** AWS allows 2 KB of user metadata per object, keys and values together. */
const METADATA_BUDGET_BYTES = 2048

export interface UploadRequest {
  readonly owner: string
  readonly filename: string
  readonly contentType?: string | undefined
  readonly size?: number | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

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
}

export interface DownloadGrant { readonly download_url: string, readonly expires_in: number }

export interface FilePage { readonly items: readonly FileRecord[], readonly next_cursor: string | null }

export interface UploadService {
  createUploadUrl (request: UploadRequest): Promise<UploadGrant>
  confirmUpload (owner: string, key: string): Promise<{ readonly created: boolean, readonly record: FileRecord }>
  createDownloadUrl (request: DownloadRequest): Promise<DownloadGrant>
  getFile (owner: string, id: string): Promise<FileRecord>
  listFiles (owner: string, page: { limit: number, cursor?: string | undefined }): Promise<FilePage>
  deleteFile (owner: string, id: string): Promise<void>
  /** Shares (true) or unshares (false) the owner's file: a public file's download URL needs no token. */
  setPublic (owner: string, id: string, isPublic: boolean): Promise<FileRecord>
}

/** The owner an upload was granted to, from the metadata its signed policy fixed; undefined if it carries none. */
export function uploadOwnerOf (head: ObjectHead): string | undefined {
  const owner = decodeHeaderValue(head.metadata[OWNER_META] ?? '')
  return owner === '' ? undefined : owner
}

export interface UploadServiceDeps {
  readonly config: Config
  readonly clients: S3Clients
  readonly objects: ObjectStore
  readonly records: RecordStore
  readonly now?: () => number
}

export function createUploadService ({ config, clients, objects, records, now = Date.now }: UploadServiceDeps): UploadService {
  const { uploads, downloads } = config
  const layout = keyLayouts[uploads.layout]
  const presigner = createPresigner(clients.public, clients.bucket)

  async function ownedRecord (owner: string, id: string): Promise<FileRecord> {
    const record = await records.get(id)
    // Another owner's file answers exactly like a missing one, so ids cannot be probed.
    if (record === undefined || record.uploaded_by !== owner) throw new FileNotFoundError()
    return record
  }

  /**
   * Deletes a violating upload and says why; the delete comes first so a retry meets UPLOAD_NOT_FOUND.
   * A file confirmed earlier (under limits since tightened) is never deleted: its record is returned.
   */
  async function reject (key: string, id: string, reason: string): Promise<{ readonly created: boolean, readonly record: FileRecord }> {
    const confirmed = await records.get(id)
    if (confirmed !== undefined) return { created: false, record: confirmed }
    await objects.delete(key)
    throw new UploadRejectedError(reason)
  }

  /**
   * HEAD and a ranged GET of the first bytes in parallel: two reads, one round trip. If the object was replaced
   * between them (its grant is still valid), they are read again, and `changing` says they never agreed.
   */
  async function inspectUpload (key: string): Promise<{ readonly head: ObjectHead, readonly sample: Uint8Array, readonly changing: boolean } | undefined> {
    for (let attempt = 1; ; attempt++) {
      const [head, sample] = await Promise.all([objects.head(key), objects.getRange(key, SNIFF_BYTES)])
      if (head === undefined || sample === undefined) return undefined
      // An empty object has no bytes and so no ETag from the ranged GET; the size check refuses it anyway.
      const agree = sample.bytes.length === 0 || sample.etag === head.etag
      if (agree || attempt === 3) return { head, sample: sample.bytes, changing: !agree }
    }
  }

  /** The owner's file count, when MAX_FILES_PER_OWNER is set, not counting this upload's own index entry. */
  async function countOwnerFiles (owner: string, id: string): Promise<number | undefined> {
    const cap = uploads.maxFilesPerOwner
    return cap > 0 ? await records.countOwnerFiles(owner, cap, id) : undefined
  }

  /**
   * Writes the owner index entry and the record at once: one round trip. Both writes are idempotent, so a confirm cut
   * short between them is completed by the next one; until then an index entry without a record is never listed, and
   * a record without its index entry answers by id. A DELETE buries the record, so a confirm that checked the upload
   * before the DELETE removed it cannot write the record again: it takes its index entry back and answers 404.
   */
  async function recordUpload (record: FileRecord): Promise<{ readonly created: boolean, readonly record: FileRecord }> {
    for (let attempt = 1; ; attempt++) {
      const [indexed, created] = await Promise.allSettled([records.addToOwnerIndex(record.uploaded_by, record.id), records.create(record)])
      if (created.status === 'fulfilled') {
        if (indexed.status === 'rejected') throw indexed.reason
        // A repeated confirm: unless a DELETE has begun (it removes the object first), the file stands as it was.
        if (created.value.created || await objects.head(record.key) !== undefined) return created.value
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

  return {
    async createUploadUrl ({ owner, filename, contentType, size, metadata = {} }) {
      const type = (contentType ?? contentTypeForFilename(filename)).toLowerCase()
      if (!isContentTypeAllowed(type, uploads.allowedContentTypes)) throw new ContentTypeNotAllowedError(type)
      if (size !== undefined && size > uploads.maxFileSize) throw new FileTooLargeError(size, uploads.maxFileSize)
      const reserved = Object.keys(metadata).filter((k) => RESERVED_METADATA_KEYS.includes(k))
      if (reserved.length > 0) throw new ValidationError(`metadata keys ${reserved.join(', ')} are reserved`)

      const meta: Record<string, string> = {
        [`x-amz-meta-${OWNER_META}`]: encodeHeaderValue(owner),
        [`x-amz-meta-${FILENAME_META}`]: encodeHeaderValue(filename),
      }
      for (const [name, value] of Object.entries(metadata)) meta[`x-amz-meta-${name}`] = encodeHeaderValue(value)
      const metaBytes = Object.entries(meta).reduce((sum, [k, v]) => sum + k.length - 'x-amz-meta-'.length + v.length, 0)
      if (metaBytes > METADATA_BUDGET_BYTES) {
        throw new ValidationError(`filename and metadata take ${metaBytes} bytes once encoded; S3 allows ${METADATA_BUDGET_BYTES}`)
      }

      const cap = uploads.maxFilesPerOwner
      if (cap > 0 && await records.countOwnerFiles(owner, cap) >= cap) throw new FileLimitReachedError(cap)

      const id = newFileId(now())
      const key = uploads.prefix + layout.keyFor({ id, ext: keyExtensionFor(type, filename), owner })
      const maxSize = size ?? uploads.maxFileSize
      const { url, fields } = await presigner.presignPost({
        key,
        contentLength: [1, maxSize],
        fields: { 'Content-Type': type, ...meta },
        expiresSeconds: uploads.urlExpiresSeconds,
      })
      return { url, key, fields, expires_in: uploads.urlExpiresSeconds, max_size: maxSize, file_id: id }
    },

    async confirmUpload (owner, key) {
      const parsed = parseUploadKey(key, uploads.prefix, layout)
      if (!parsed.ok) throw new InvalidKeyError(parsed.reason)
      // HEAD (metadata) and the first bytes (content), and with MAX_FILES_PER_OWNER the owner's count, all at once.
      records.prepareWrites()
      const [inspected, ownerFiles] = await Promise.all([inspectUpload(key), countOwnerFiles(owner, parsed.id)])
      const head = inspected?.head
      if (head === undefined || decodeHeaderValue(head.metadata[OWNER_META] ?? '') !== owner) throw new UploadNotFoundError()

      // The policy already made S3 enforce these; stores that ignore policies are caught here.
      if (head.size < 1) return await reject(key, parsed.id, 'the file is empty')
      if (head.size > uploads.maxFileSize) return await reject(key, parsed.id, `the file is ${head.size} bytes, over the limit of ${uploads.maxFileSize}`)
      const contentType = head.contentType.toLowerCase()
      if (!isContentTypeAllowed(contentType, uploads.allowedContentTypes)) return await reject(key, parsed.id, `content type ${contentType || '(none)'} is not allowed`)
      const filename = decodeHeaderValue(head.metadata[FILENAME_META] ?? '')
      if (filename === undefined || filename === '') return await reject(key, parsed.id, 'the upload carries no file name')
      if (inspected?.changing === true) return await reject(key, parsed.id, 'the object kept changing while it was checked')
      const verdict = await verifyContentType(contentType, inspected?.sample ?? new Uint8Array())
      if (!verdict.ok) return await reject(key, parsed.id, `its content is ${verdict.detected}, not ${contentType}`)
      if (ownerFiles !== undefined && ownerFiles >= uploads.maxFilesPerOwner) {
        return await reject(key, parsed.id, `you already have ${ownerFiles} files, the most allowed`)
      }

      const metadata: Record<string, string> = {}
      for (const [name, value] of Object.entries(head.metadata)) {
        if (RESERVED_METADATA_KEYS.includes(name)) continue
        metadata[name] = decodeHeaderValue(value) ?? value
      }
      const record: FileRecord = {
        id: parsed.id,
        key,
        filename,
        content_type: contentType,
        size: head.size,
        etag: head.etag,
        uploaded_by: owner,
        is_public: false,
        metadata,
        created_at: new Date(now()).toISOString(),
      }
      // Past ORPHAN_TTL an unrecorded upload is an orphan that cleanup may be deleting right now: never record it.
      if (now() - head.lastModified.getTime() >= uploads.orphanTtlSeconds * 1000 && !(await records.exists(record.id))) {
        throw new UploadNotFoundError()
      }
      return await recordUpload(record)
    },

    async createDownloadUrl ({ owner, id, filename, disposition, expiresIn }) {
      const record = await records.get(id)
      // The owner may download their file; anyone, with a token or without, a public one. Everything else is a 404.
      if (record === undefined || (record.uploaded_by !== owner && !record.is_public)) throw new FileNotFoundError()
      const expires = Math.min(expiresIn ?? downloads.urlExpiresSeconds, downloads.maxUrlExpiresSeconds)
      const inline = disposition === 'inline' && isInlineSafe(record.content_type)
      const url = await presigner.presignGet({
        key: record.key,
        responseContentDisposition: contentDisposition(inline ? 'inline' : 'attachment', filename ?? record.filename),
        responseContentType: record.content_type,
        expiresSeconds: expires,
      })
      return { download_url: url, expires_in: expires }
    },

    getFile: ownedRecord,

    async listFiles (owner, { limit, cursor }) {
      const token = cursor === undefined ? undefined : decodeCursor(cursor)
      const page = await records.listOwnerIds(owner, { limit, token })
      const found = await Promise.all(page.ids.map((id) => records.get(id)))
      // An index entry without a record (a confirm cut short, or one that lost a race with a DELETE) is skipped, not shown.
      const items = found.filter((r): r is FileRecord => r !== undefined && r.uploaded_by === owner)
      return { items, next_cursor: page.nextToken === undefined ? null : encodeCursor(page.nextToken) }
    },

    async deleteFile (owner, id) {
      const record = await ownedRecord(owner, id)
      // The object goes first (a confirm racing this one sees it gone), then the index entry, and the record is
      // buried last: until it is, a repeated DELETE finds it and finishes the job.
      await objects.delete(record.key)
      await records.bury(record)
    },

    async setPublic (owner, id, isPublic) {
      const record = await records.update(id, (current) => current.uploaded_by === owner ? { ...current, is_public: isPublic } : undefined)
      if (record === undefined) throw new FileNotFoundError()
      return record
    },
  }
}
