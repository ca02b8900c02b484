// Upload key layouts: where an upload lives under UPLOAD_PREFIX, and the parser confirm uses to read it back.
import { fileIdTime, isFileId } from './file-id.js'
import { encodeOwner } from './owner-encoding.js'

export interface KeyParts {
  readonly id: string
  /** `.pdf`, or empty. */
  readonly ext: string
  readonly owner: string
}

export interface KeyLayout {
  readonly name: string
  /** The key below the prefix. Every layout ends in `<id><ext>` so a key alone names its file. */
  keyFor (parts: KeyParts): string
  /** Checks the segments before the file name; returns why they are wrong, or undefined. */
  checkDirectories (directories: readonly string[], id: string): string | undefined
}

const two = (n: number) => String(n).padStart(2, '0')

/** `<yyyy>/<mm>/<dd>/<id><ext>`, the UTC day the upload was granted (the id's own timestamp). */
export const dateLayout: KeyLayout = {
  name: 'date',
  keyFor: ({ id, ext }) => `${datePathFor(fileIdTime(id))}/${id}${ext}`,
  checkDirectories (directories, id) {
    if (directories.join('/') !== datePathFor(fileIdTime(id))) return 'the date segments do not match the file id'
    return undefined
  },
}

/** `<owner>/<id><ext>` with the owner base64url-encoded, so one owner's uploads share a prefix. */
export const ownerLayout: KeyLayout = {
  name: 'owner',
  keyFor: ({ id, ext, owner }) => `${encodeOwner(owner)}/${id}${ext}`,
  checkDirectories (directories) {
    if (directories.length !== 1 || !/^[A-Za-z0-9_-]+$/.test(directories[0] ?? '')) return 'expected one owner segment before the file name'
    return undefined
  },
}

export const keyLayouts = { date: dateLayout, owner: ownerLayout } as const

/** `yyyy/mm/dd` of a UTC millisecond time. */
export function datePathFor (time: number): string {
  const date = new Date(time)
  return `${date.getUTCFullYear()}/${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}`
}

const FILE_NAME = /^([0-9a-f-]{36})((?:\.[a-z0-9]{1,16})?)$/

export type ParsedKey = { readonly ok: true, readonly id: string, readonly ext: string } | { readonly ok: false, readonly reason: string }

/** Parses a key the way it was issued; anything else (another prefix, `..`, empty segments, no id) is refused. */
export function parseUploadKey (key: string, prefix: string, layout: KeyLayout): ParsedKey {
  if (!key.startsWith(prefix)) return { ok: false, reason: `it is not under ${prefix}` }
  if (/[\x00-\x1f\x7f\\]/.test(key)) return { ok: false, reason: 'it contains control characters or backslashes' }
  const segments = key.slice(prefix.length).split('/')
  if (segments.some((s) => s === '')) return { ok: false, reason: 'it has an empty segment' }
  if (segments.some((s) => s === '.' || s === '..')) return { ok: false, reason: 'it has a . or .. segment' }
  const match = FILE_NAME.exec(segments.at(-1) ?? '')
  const id = match?.[1]
  if (match === null || id === undefined || !isFileId(id)) return { ok: false, reason: 'it does not end in a filegate file id' }
  const problem = layout.checkDirectories(segments.slice(0, -1), id)
  if (problem !== undefined) return { ok: false, reason: problem }
  return { ok: true, id, ext: match[2] ?? '' }
}
