// List cursors: S3's continuation token, wrapped so that callers treat it as opaque.
import { ValidationError } from '../errors.js'

export function encodeCursor (token: string): string {
  return Buffer.from(JSON.stringify({ v: 1, t: token }), 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (typeof parsed === 'object' && parsed !== null && 'v' in parsed && parsed.v === 1 && 't' in parsed && typeof parsed.t === 'string' && parsed.t !== '') {
      return parsed.t
    }
  } catch {
    // Falls through to the error below.
  }
  throw new ValidationError('cursor is not one that GET /files returned')
}
