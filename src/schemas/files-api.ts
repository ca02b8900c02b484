// Request and response schemas of the /files routes.
import Type from 'typebox'
import { CONTENT_TYPE_PATTERN } from '../uploads/content-types.js'
import { FileIdSchema, FileRecordSchema, MD5_BASE64_PATTERN } from './file-record.js'

/** No control characters and no lone UTF-16 surrogates (which no encoding can carry). */
const WELL_FORMED_TEXT = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$'

/** A file name as a person gave it: any script, 1 to 255 characters, no control characters. */
export const FilenameSchema = Type.String({
  minLength: 1, maxLength: 255, pattern: WELL_FORMED_TEXT,
  description: 'The original file name: 1 to 255 characters, no control characters', examples: ['résumé.pdf'],
})

/** The caller's metadata: a few short string entries, kept on the object and in the record. */
export const CallerMetadataSchema = Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }), Type.String({ maxLength: 512, pattern: '^[^\\ud800-\\udfff]*$' }), {
  maxProperties: 10,
  additionalProperties: false,
  description: 'Up to 10 string entries kept with the file; keys are lowercase letters, digits and hyphens (at most 64), values at most 512 characters',
  examples: [{ album: 'holidays' }],
})

export const UploadUrlBodySchema = Type.Object({
  filename: FilenameSchema,
  content_type: Type.Optional(Type.String({ pattern: CONTENT_TYPE_PATTERN, description: 'The content type; inferred from the file name when absent', examples: ['application/pdf'] })),
  size: Type.Optional(Type.Integer({ minimum: 1, description: 'The exact or largest size the client will send, in bytes; S3 refuses anything bigger. Over 5 GiB, use POST /files/multipart' })),
  md5: Type.Optional(Type.String({ pattern: MD5_BASE64_PATTERN, description: 'The base64 MD5 of the file; confirm compares it with the object\'s ETag where that is a plain MD5 and refuses a mismatch (422)', examples: ['XrY7u+Ae7tCTyyK7j1rNww=='] })),
  metadata: Type.Optional(CallerMetadataSchema),
}, { additionalProperties: false, examples: [{ filename: 'résumé.pdf', content_type: 'application/pdf', size: 48213, metadata: { project: 'hiring' } }] })

export const UploadGrantSchema = Type.Object({
  url: Type.String({ description: 'Where the browser POSTs the multipart form' }),
  key: Type.String({ description: 'The object key; confirm it with POST /files/confirm/<key> after the upload' }),
  fields: Type.Record(Type.String(), Type.String(), { description: 'Form fields to send first, in any order, before the file field named `file`' }),
  expires_in: Type.Integer({ description: 'Seconds until the grant expires' }),
  max_size: Type.Integer({ description: 'The largest body S3 accepts for this grant, in bytes' }),
  file_id: FileIdSchema,
}, { description: 'A presigned POST grant' })

export const IdParamsSchema = Type.Object({ id: FileIdSchema })

export const ConfirmParamsSchema = Type.Object({
  '*': Type.String({ description: 'The key from the upload grant, as path segments or URL-encoded' }),
})

const DispositionSchema = Type.Union([Type.Literal('attachment'), Type.Literal('inline')], { description: 'inline is honoured only for types safe to render whose bytes confirm verified (raster images, PDF, audio, video); never for text' })
const ExpiresInSchema = Type.Integer({ minimum: 1, maximum: 604800, description: 'Seconds the URL stays valid; capped at DOWNLOAD_URL_MAX_EXPIRES' })

export const DownloadQuerySchema = Type.Object({
  filename: Type.Optional(FilenameSchema),
  disposition: Type.Optional(DispositionSchema),
  expires_in: Type.Optional(ExpiresInSchema),
  redirect: Type.Optional(Type.Boolean({ description: 'true answers 302 to the URL instead of JSON' })),
  variant: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,32}$', description: 'A rendition named in VARIANTS (e.g. thumb) instead of the file: a WebP without metadata; 404 VARIANT_NOT_FOUND when the file has none of that name' })),
}, { additionalProperties: false })

export const SharingBodySchema = Type.Object({
  is_public: Type.Boolean({ description: 'true shares the file: anyone with its id may get a download URL, without a token; false makes it private again' }),
}, { additionalProperties: false, examples: [{ is_public: true }] })

export const DownloadGrantSchema = Type.Object({
  download_url: Type.String({ description: 'A presigned GET URL' }),
  expires_in: Type.Integer({ description: 'Seconds until the URL expires' }),
})

export const ListQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Files per page, 1 to 100' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'next_cursor from the previous page' })),
}, { additionalProperties: false })

/** The most ids one POST /files/download-urls takes: a page of GET /files. */
export const MAX_BATCH_IDS = 100

export const BatchDownloadBodySchema = Type.Object({
  ids: Type.Array(FileIdSchema, { minItems: 1, maxItems: MAX_BATCH_IDS, description: 'The files, 1 to 100 ids; a repeated id is answered once' }),
  disposition: Type.Optional(DispositionSchema),
  expires_in: Type.Optional(ExpiresInSchema),
}, { additionalProperties: false, examples: [{ ids: ['0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b'], disposition: 'inline' }] })

export const BatchDownloadGrantSchema = Type.Object({
  items: Type.Array(Type.Object({
    id: FileIdSchema,
    download_url: Type.String({ description: 'A presigned GET URL' }),
    expires_in: Type.Integer({ description: 'Seconds until the URL expires' }),
  }), { description: 'A URL for each of the caller\'s files that is served, in the order of the request' }),
  not_found: Type.Array(FileIdSchema, { description: 'Ids with no file of the caller\'s: missing, deleted and other users\' files alike' }),
  unavailable: Type.Array(Type.Object({
    id: FileIdSchema,
    code: Type.Union([Type.Literal('SCAN_PENDING'), Type.Literal('FILE_INFECTED')], { description: 'What GET /files/download/{id} would answer: SCAN_PENDING (409, not scanned yet or unscannable) or FILE_INFECTED (410)' }),
    message: Type.String({ description: 'Why, for a person' }),
  }), { description: 'The caller\'s files that are not served now (SCANNER=clamav): no URL is signed for them' }),
})

export const FileListQuerySchema = Type.Object({
  ...ListQuerySchema.properties,
  with: Type.Optional(Type.Literal('download_url', { description: 'download_url: each listed file that is served carries a download URL (attachment, DOWNLOAD_URL_EXPIRES), signed without any further S3 call' })),
}, { additionalProperties: false })

/** A listed file: its record, and with `?with=download_url` a download URL when the file is served. */
export const ListedFileSchema = Type.Object({
  ...FileRecordSchema.properties,
  download_url: Type.Optional(Type.String({ description: 'A presigned GET URL (only with ?with=download_url, and only for a file that is served: absent while a scan is pending, or when infected)' })),
}, { $id: 'ListedFile', additionalProperties: false, description: 'A confirmed file as GET /files lists it: its record, with a download URL when asked for' })

export const FilePageSchema = Type.Object({
  items: Type.Array(Type.Ref('ListedFile'), { description: 'The caller\'s files, newest first' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
  download_expires_in: Type.Optional(Type.Integer({ description: 'Seconds until the listed download URLs expire (only with ?with=download_url)' })),
})
