// S3's XML answers for clients that speak S3's multipart protocol (Uppy's @uppy/aws-s3): filegate's answers in S3's dress.
import type { ErrorResponse } from '../schemas/error-response.js'

const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/'
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

const XML_ENTITIES: Readonly<Record<string, string>> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }
const escapeXml = (text: string): string => text.replace(/[<>&'"]/g, (c) => XML_ENTITIES[c] ?? c)

/** One element per entry, in order, text escaped. */
function elements (fields: ReadonlyArray<readonly [string, string | number]>): string {
  return fields.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join('')
}

/** The answer to CreateMultipartUpload: the upload id an S3 client sends back with every later call is the file id. */
export function initiateResultXml (key: string, fileId: string): string {
  return `${DECLARATION}<InitiateMultipartUploadResult xmlns="${S3_NAMESPACE}">${elements([['Key', key], ['UploadId', fileId]])}</InitiateMultipartUploadResult>`
}

/** The answer to ListParts: every part S3 holds, in one page. */
export function listPartsResultXml (key: string, fileId: string, parts: ReadonlyArray<{ readonly number: number, readonly size: number, readonly etag: string }>): string {
  const items = parts.map((p) => `<Part>${elements([['PartNumber', p.number], ['Size', p.size], ['ETag', `"${p.etag}"`]])}</Part>`).join('')
  return `${DECLARATION}<ListPartsResult xmlns="${S3_NAMESPACE}">${elements([['Key', key], ['UploadId', fileId], ['IsTruncated', 'false']])}${items}</ListPartsResult>`
}

/** The answer to CompleteMultipartUpload; `location` is where the recorded file is described. */
export function completeResultXml (location: string, key: string, etag: string): string {
  return `${DECLARATION}<CompleteMultipartUploadResult xmlns="${S3_NAMESPACE}">${elements([['Location', location], ['Key', key], ['ETag', `"${etag}"`]])}</CompleteMultipartUploadResult>`
}

/** filegate's error shape as S3's `<Error>`: the code and message S3 clients show. */
export function errorXml (error: ErrorResponse): string {
  return `${DECLARATION}<Error>${elements([['Code', error.code], ['Message', error.message]])}</Error>`
}
