// filegate's answers as the client reads them: checked at the boundary, so a changed or broken server fails clearly.
import { UploadError } from './errors.js'

export interface FileRecord {
  readonly id: string
  readonly key: string
  readonly filename: string
  readonly content_type: string
  readonly size: number
  readonly etag: string
  readonly md5?: string
  readonly uploaded_by: string
  readonly is_public: boolean
  readonly metadata: Readonly<Record<string, string>>
  readonly created_at: string
}

export interface PostGrant { readonly url: string, readonly key: string, readonly fields: Readonly<Record<string, string>>, readonly expires_in: number, readonly max_size: number, readonly file_id: string }
export interface MultipartCreated { readonly file_id: string, readonly key: string, readonly part_size: number, readonly part_count: number, readonly expires_in: number }
export interface SignedPart { readonly number: number, readonly url: string, readonly headers: Readonly<Record<string, string>>, readonly size: number }
export interface SignedParts { readonly parts: readonly SignedPart[], readonly expires_in: number }
export interface StoredPart { readonly number: number, readonly size: number, readonly etag: string }
export interface MultipartStatus extends MultipartCreated { readonly filename: string, readonly content_type: string, readonly size: number, readonly parts: readonly StoredPart[] }

type Shape = Record<string, 'string' | 'number' | 'boolean' | 'object'>

function check<T> (what: string, shape: Shape, value: unknown): T {
  const record = typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined
  const wrong = record === undefined ? ['(not an object)'] : Object.entries(shape).filter(([name, type]) => typeof record[name] !== type || record[name] === null).map(([name]) => name)
  if (wrong.length > 0) throw new UploadError(`filegate's answer is not ${what}: ${wrong.join(', ')}`, 'api', { code: 'UNEXPECTED_ANSWER' })
  return value as T
}

const strings = (value: unknown): boolean => typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')

export const readRecord = (value: unknown): FileRecord =>
  check('a file record', { id: 'string', key: 'string', filename: 'string', content_type: 'string', size: 'number', etag: 'string', uploaded_by: 'string', created_at: 'string' }, value)

export function readGrant (value: unknown): PostGrant {
  const grant = check<PostGrant>('an upload grant', { url: 'string', key: 'string', fields: 'object', expires_in: 'number', max_size: 'number', file_id: 'string' }, value)
  if (!strings(grant.fields)) throw new UploadError('filegate\'s answer is not an upload grant: fields', 'api', { code: 'UNEXPECTED_ANSWER' })
  return grant
}

const createdShape: Shape = { file_id: 'string', key: 'string', part_size: 'number', part_count: 'number' }
export const readCreated = (value: unknown): MultipartCreated => check('a multipart upload', { ...createdShape, expires_in: 'number' }, value)

export function readSignedParts (value: unknown): SignedParts {
  const signed = check<SignedParts>('signed parts', { parts: 'object', expires_in: 'number' }, value)
  if (!Array.isArray(signed.parts)) throw new UploadError('filegate\'s answer is not signed parts', 'api', { code: 'UNEXPECTED_ANSWER' })
  for (const part of signed.parts) {
    check('a signed part', { number: 'number', url: 'string', headers: 'object', size: 'number' }, part)
    if (!strings(part.headers)) throw new UploadError('filegate\'s answer is not a signed part: headers', 'api', { code: 'UNEXPECTED_ANSWER' })
  }
  return signed
}

export function readStatus (value: unknown): MultipartStatus {
  const status = check<MultipartStatus>('a multipart upload', { ...createdShape, filename: 'string', content_type: 'string', size: 'number', parts: 'object' }, value)
  if (!Array.isArray(status.parts)) throw new UploadError('filegate\'s answer is not a multipart upload: parts', 'api', { code: 'UNEXPECTED_ANSWER' })
  for (const part of status.parts) check('a stored part', { number: 'number', size: 'number', etag: 'string' }, part)
  return status
}

export const readNothing = (): undefined => undefined
