// The upload service: the rules of filegate (grants, confirm, download, list, delete) and the only caller of the presigners.
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Config } from '../config.js'
import {
  ContentTypeNotAllowedError, FileNotFoundError, FileTooLargeError, InvalidKeyError, UploadNotFoundError,
  UploadRejectedError, ValidationError,
} from '../errors.js'
import type { FileRecord } from '../schemas/file-record.js'
import type { RecordStore } from '../storage/record-store.js'
import type { ObjectStore, S3Clients } from '../storage/s3.js'
import { contentDisposition } from './content-disposition.js'
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
  readonly owner: string
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

  async function ownedRecord (owner: string, id: string): Promise<FileRecord> {
    const record = await records.get(id)
    // Another owner's file answers exactly like a missing one, so ids cannot be probed.
    if (record === undefined || record.uploaded_by !== owner) throw new FileNotFoundError()
    return record
  }

  /** Deletes a violating upload and says why; the delete comes first so a retry meets UPLOAD_NOT_FOUND. */
  async function reject (key: string, reason: string): Promise<never> {
    await objects.delete(key)
    throw new UploadRejectedError(reason)
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

      const id = newFileId(now())
      const key = uploads.prefix + layout.keyFor({ id, ext: keyExtensionFor(type, filename), owner })
      const maxSize = size ?? uploads.maxFileSize
      const { url, fields } = await createPresignedPost(clients.public, {
        Bucket: clients.bucket,
        Key: key,
        Conditions: [['content-length-range', 1, maxSize]],
        Fields: { 'Content-Type': type, ...meta },
        Expires: uploads.urlExpiresSeconds,
      })
      return { url, key, fields, expires_in: uploads.urlExpiresSeconds, max_size: maxSize, file_id: id }
    },

    async confirmUpload (owner, key) {
      const parsed = parseUploadKey(key, uploads.prefix, layout)
      if (!parsed.ok) throw new InvalidKeyError(parsed.reason)
      const head = await objects.head(key)
      if (head === undefined || decodeHeaderValue(head.metadata[OWNER_META] ?? '') !== owner) throw new UploadNotFoundError()

      // The policy already made S3 enforce these; stores that ignore policies are caught here.
      if (head.size < 1) return await reject(key, 'the file is empty')
      if (head.size > uploads.maxFileSize) return await reject(key, `the file is ${head.size} bytes, over the limit of ${uploads.maxFileSize}`)
      const contentType = head.contentType.toLowerCase()
      if (!isContentTypeAllowed(contentType, uploads.allowedContentTypes)) return await reject(key, `content type ${contentType || '(none)'} is not allowed`)
      const filename = decodeHeaderValue(head.metadata[FILENAME_META] ?? '')
      if (filename === undefined || filename === '') return await reject(key, 'the upload carries no file name')

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
      // Both writes are idempotent, so a confirm that failed half-way is repaired by the next one.
      const [outcome] = await Promise.all([records.create(record), records.addToOwnerIndex(owner, record.id)])
      return outcome
    },

    async createDownloadUrl ({ owner, id, filename, disposition, expiresIn }) {
      const record = await ownedRecord(owner, id)
      const expires = Math.min(expiresIn ?? downloads.urlExpiresSeconds, downloads.maxUrlExpiresSeconds)
      const inline = disposition === 'inline' && isInlineSafe(record.content_type)
      const url = await getSignedUrl(clients.public, new GetObjectCommand({
        Bucket: clients.bucket,
        Key: record.key,
        ResponseContentDisposition: contentDisposition(inline ? 'inline' : 'attachment', filename ?? record.filename),
        ResponseContentType: record.content_type,
      }), { expiresIn: expires })
      return { download_url: url, expires_in: expires }
    },

    getFile: ownedRecord,

    async listFiles (owner, { limit, cursor }) {
      const token = cursor === undefined ? undefined : decodeCursor(cursor)
      const page = await records.listOwnerIds(owner, { limit, token })
      const found = await Promise.all(page.ids.map((id) => records.get(id)))
      // An index entry whose record is gone (a delete or confirm cut short) is skipped, not shown.
      const items = found.filter((r): r is FileRecord => r !== undefined && r.uploaded_by === owner)
      return { items, next_cursor: page.nextToken === undefined ? null : encodeCursor(page.nextToken) }
    },

    async deleteFile (owner, id) {
      const record = await ownedRecord(owner, id)
      // The record goes last: until it does, a repeated DELETE finds it and finishes the job.
      await objects.delete(record.key)
      await records.removeFromOwnerIndex(owner, id)
      await records.delete(id)
    },
  }
}
