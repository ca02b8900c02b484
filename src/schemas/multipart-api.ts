// Request and response schemas of the /files/multipart routes.
import Type from 'typebox'
import { MAX_OBJECT_SIZE } from '../config.js'
import { MAX_PARTS } from '../multipart/part-plan.js'
import { CONTENT_TYPE_PATTERN } from '../uploads/content-types.js'
import { FileIdSchema, MD5_BASE64_PATTERN } from './file-record.js'
import { CallerMetadataSchema, FilenameSchema } from './files-api.js'

const PartNumber = Type.Integer({ minimum: 1, maximum: MAX_PARTS, description: 'The part number, 1 to part_count' })
const PartSize = Type.Integer({ minimum: 1, description: 'The exact size of the part in bytes' })

export const CreateMultipartBodySchema = Type.Object({
  filename: FilenameSchema,
  content_type: Type.Optional(Type.String({ pattern: CONTENT_TYPE_PATTERN, description: 'The content type; inferred from the file name when absent', examples: ['video/mp4'] })),
  size: Type.Integer({ minimum: 1, maximum: MAX_OBJECT_SIZE, description: 'The exact size of the file in bytes (at most MAX_FILE_SIZE, and 5 TiB); the parts must add up to it' }),
  metadata: Type.Optional(CallerMetadataSchema),
}, { additionalProperties: false, examples: [{ filename: 'holiday.mp4', content_type: 'video/mp4', size: 2147483648, metadata: { album: 'holidays' } }] })

export const MultipartCreatedSchema = Type.Object({
  file_id: FileIdSchema,
  key: Type.String({ description: 'The object key the file will have' }),
  part_size: Type.Integer({ description: 'The size of every part but the last, in bytes (at least 5 MiB)' }),
  part_count: Type.Integer({ description: 'How many parts the file is cut into (at most 10,000); the last holds the rest' }),
  expires_in: Type.Integer({ description: 'Seconds until the upload expires (MULTIPART_TTL): complete it before then' }),
}, { description: 'A multipart upload, created' })

export const SignPartsBodySchema = Type.Object({
  parts: Type.Array(Type.Object({
    number: PartNumber,
    md5: Type.Optional(Type.String({ pattern: MD5_BASE64_PATTERN, description: 'The base64 MD5 of the part: the URL then signs Content-MD5, and S3 refuses other bytes (400 BadDigest)', examples: ['XrY7u+Ae7tCTyyK7j1rNww=='] })),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 100, description: 'The parts to sign, 1 to 100 at once, each number once' }),
}, { additionalProperties: false, examples: [{ parts: [{ number: 1, md5: 'XrY7u+Ae7tCTyyK7j1rNww==' }, { number: 2 }] }] })

export const SignedPartsSchema = Type.Object({
  parts: Type.Array(Type.Object({
    number: PartNumber,
    url: Type.String({ description: 'PUT the part\'s bytes here' }),
    headers: Type.Record(Type.String(), Type.String(), { description: 'Headers to send with the PUT (Content-MD5 when an MD5 was given); the browser sets Content-Length, which is signed too' }),
    size: PartSize,
  })),
  expires_in: Type.Integer({ description: 'Seconds until the URLs expire; ask again for parts not sent by then' }),
}, { description: 'Presigned part URLs' })

const summaryFields = {
  file_id: FileIdSchema,
  key: Type.String({ description: 'The object key the file will have' }),
  filename: Type.String({ description: 'The original file name' }),
  content_type: Type.String({ description: 'The content type' }),
  size: Type.Integer({ description: 'The declared size in bytes' }),
  part_size: Type.Integer({ description: 'The size of every part but the last' }),
  part_count: Type.Integer({ description: 'How many parts make the file' }),
  created_at: Type.String({ format: 'date-time', description: 'When the upload was created' }),
  expires_at: Type.String({ format: 'date-time', description: 'When it expires: it cannot be completed after, and cleanup aborts it' }),
}

export const MultipartSummarySchema = Type.Object(summaryFields, { description: 'An unfinished multipart upload' })

export const MultipartStatusSchema = Type.Object({
  ...summaryFields,
  parts: Type.Array(Type.Object({
    number: PartNumber,
    size: PartSize,
    etag: Type.String({ description: 'The part\'s ETag as S3 reported it (its MD5 in hex on most stores)' }),
  }), { description: 'The parts S3 holds, by number: send only the others to resume' }),
}, { description: 'An unfinished multipart upload and the parts S3 holds' })

export const MultipartPageSchema = Type.Object({
  items: Type.Array(MultipartSummarySchema, { description: 'The caller\'s unfinished uploads, newest first' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
})
