// The file record: one JSON object per confirmed file, kept in the bucket and returned by the API.
import Type, { type Static } from 'typebox'
import { FILE_ID_PATTERN } from '../uploads/file-id.js'

/** A base64 MD5, as Content-MD5 carries it: 16 bytes. */
export const MD5_BASE64_PATTERN = '^[A-Za-z0-9+/]{22}==$'

export const FileIdSchema = Type.String({ pattern: FILE_ID_PATTERN, description: 'The file id, a UUID v7 issued by filegate', examples: ['0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b'] })

export const MetadataSchema = Type.Record(Type.String(), Type.String(), {
  description: 'The caller\'s own string map, given at upload-url and kept with the record',
})

export const ScanSchema = Type.Object({
  status: Type.Union([Type.Literal('pending'), Type.Literal('clean'), Type.Literal('infected'), Type.Literal('error')], {
    description: 'pending: not scanned yet (not served); clean: clamd found nothing; infected: clamd found `signature` (the object was removed); error: it could not be scanned (`message` says why; not served)',
  }),
  signature: Type.Optional(Type.String({ description: 'What clamd found, when infected' })),
  message: Type.Optional(Type.String({ description: 'Why the file could not be scanned, when error' })),
  scanned_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the verdict was reached (ISO 8601, UTC)' })),
}, { additionalProperties: false, description: 'The virus scan (SCANNER=clamav); absent when scanning is off' })

export const VariantSchema = Type.Object({
  name: Type.String({ description: 'The name `?variant=` asks for (from VARIANTS)' }),
  key: Type.String({ description: 'The object key of the rendition, under _filegate/variants/' }),
  content_type: Type.Literal('image/webp'),
  width: Type.Integer({ minimum: 1, description: 'Width in pixels' }),
  height: Type.Integer({ minimum: 1, description: 'Height in pixels' }),
  size: Type.Integer({ minimum: 1, description: 'Size in bytes' }),
}, { additionalProperties: false, description: 'A WebP rendition of a raster image, EXIF orientation applied and all metadata removed' })
export type Variant = Static<typeof VariantSchema>

export const FileRecordSchema = Type.Object({
  id: FileIdSchema,
  key: Type.String({ description: 'The upload\'s object key in the bucket (the key its grant named)' }),
  served_key: Type.Optional(Type.String({ description: 'The key of the copy confirm checked, which downloads serve and no upload grant can write (a POST upload); absent when the upload key itself is served (a completed multipart upload, which no grant can change, or a record from before served copies)' })),
  filename: Type.String({ description: 'The original file name, exactly as the client gave it' }),
  content_type: Type.String({ description: 'The content type the object was stored with' }),
  size: Type.Integer({ minimum: 0, description: 'Size in bytes' }),
  etag: Type.String({ description: 'The object ETag as S3 reported it, without quotes' }),
  md5: Type.Optional(Type.String({ pattern: MD5_BASE64_PATTERN, description: 'The MD5 of the bytes (base64), present when the upload declared one and confirm verified it against the ETag' })),
  uploaded_by: Type.String({ description: 'The owner: the JWT subject (or configured claim) of the uploader' }),
  is_public: Type.Boolean({ description: 'Whether anyone may download it; false unless the owner shares it' }),
  metadata: MetadataSchema,
  created_at: Type.String({ format: 'date-time', description: 'When the upload was confirmed (ISO 8601, UTC)' }),
  revision: Type.Optional(Type.Integer({ minimum: 0, description: 'How many times the record was changed since it was confirmed (sharing, scans, variants); absent means 0. Part of each event id, so every change makes its own event' })),
  scan: Type.Optional(ScanSchema),
  variants: Type.Optional(Type.Array(VariantSchema, { description: 'The renditions made (VARIANTS), for raster images only' })),
}, { $id: 'FileRecord', additionalProperties: false, description: 'A confirmed file' })

export type FileRecord = Static<typeof FileRecordSchema>
