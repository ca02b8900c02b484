// New uploads: what a POST grant and a multipart upload both settle first (type, size, metadata, the file cap, id and key).
import type { Config } from '../config.js'
import { ContentTypeNotAllowedError, FileLimitReachedError, FileTooLargeError, ValidationError } from '../errors.js'
import type { OwnerCounts } from '../storage/owner-counts.js'
import type { ObjectHead } from '../storage/s3.js'
import { contentTypeForFilename, isContentTypeAllowed, keyExtensionFor } from './content-types.js'
import { newFileId } from './file-id.js'
import { decodeHeaderValue, encodeHeaderValue } from './header-safe.js'
import { keyLayouts } from './key-layout.js'

/** Metadata keys filegate itself sets on the object; callers cannot set them. */
export const OWNER_META = 'uploaded-by'
export const FILENAME_META = 'filename'
/** The MD5 a POST upload declared (base64), which confirm compares with the object's ETag. */
export const MD5_META = 'md5'
export const RESERVED_METADATA_KEYS: readonly string[] = [OWNER_META, FILENAME_META, MD5_META]
/** AWS allows 2 KB of user metadata per object, keys and values together. */
export const METADATA_BUDGET_BYTES = 2048

export interface UploadRequest {
  readonly owner: string
  readonly filename: string
  readonly contentType?: string | undefined
  /** The exact or largest size the client will send; multipart uploads always declare it. */
  readonly size?: number | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** Base64 MD5 of the whole file (POST uploads only). */
  readonly md5?: string | undefined
}

export interface NewUpload {
  readonly id: string
  readonly key: string
  /** Lowercase, as stored. */
  readonly contentType: string
  /** The object's user metadata, header-safe, keys without `x-amz-meta-`: owner, file name, declared MD5, the caller's. */
  readonly metadata: Readonly<Record<string, string>>
}

/** The owner an upload was granted to, from the metadata filegate fixed; undefined if it carries none. */
export function uploadOwnerOf (head: ObjectHead): string | undefined {
  const owner = decodeHeaderValue(head.metadata[OWNER_META] ?? '')
  return owner === '' ? undefined : owner
}

/** The caller's own metadata of an object, decoded: what a record keeps. */
export function callerMetadataOf (head: ObjectHead): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(head.metadata)) {
    if (RESERVED_METADATA_KEYS.includes(name)) continue
    metadata[name] = decodeHeaderValue(value) ?? value
  }
  return metadata
}

export interface NewUploadDeps {
  readonly config: Config
  readonly counts: OwnerCounts
  readonly now: () => number
}

/** Checks a new upload against the limits and names it; throws the error a caller sees for each refusal. */
export function createUploadPlanner ({ config, counts, now }: NewUploadDeps): (request: UploadRequest) => Promise<NewUpload> {
  const { uploads } = config
  const layout = keyLayouts[uploads.layout]

  return async function planUpload ({ owner, filename, contentType, size, metadata = {}, md5 }) {
    const type = (contentType ?? contentTypeForFilename(filename)).toLowerCase()
    if (!isContentTypeAllowed(type, uploads.allowedContentTypes)) throw new ContentTypeNotAllowedError(type)
    if (size !== undefined && size > uploads.maxFileSize) throw new FileTooLargeError(size, uploads.maxFileSize)
    const reserved = Object.keys(metadata).filter((k) => RESERVED_METADATA_KEYS.includes(k))
    if (reserved.length > 0) throw new ValidationError(`metadata keys ${reserved.join(', ')} are reserved`)

    const meta: Record<string, string> = { [OWNER_META]: encodeHeaderValue(owner), [FILENAME_META]: encodeHeaderValue(filename) }
    if (md5 !== undefined) meta[MD5_META] = md5
    for (const [name, value] of Object.entries(metadata)) meta[name] = encodeHeaderValue(value)
    const metaBytes = Object.entries(meta).reduce((sum, [k, v]) => sum + k.length + v.length, 0)
    if (metaBytes > METADATA_BUDGET_BYTES) {
      throw new ValidationError(`filename and metadata take ${metaBytes} bytes once encoded; S3 allows ${METADATA_BUDGET_BYTES}`)
    }

    const cap = uploads.maxFilesPerOwner
    // One read of the owner's count, however many files they have; confirm takes the place exactly. An owner with no
    // count yet (files from before counts, or none) is counted from the index, up to the cap; the next confirm builds it.
    if (cap > 0 && ((await counts.peek(owner))?.files ?? await counts.countIndex(owner, cap)) >= cap) throw new FileLimitReachedError(cap)

    const id = newFileId(now())
    const key = uploads.prefix + layout.keyFor({ id, ext: keyExtensionFor(type, filename), owner })
    return { id, key, contentType: type, metadata: meta }
  }
}
