// Content types: which are allowed, which extension each usually has, which are safe to show inline.
import { isSniffable } from './content-sniffing.js'

const EXTENSION_BY_TYPE: Readonly<Record<string, string>> = {
  'image/jpeg': '.jpg', 'image/png': '.png', 'image/gif': '.gif', 'image/webp': '.webp', 'image/avif': '.avif',
  'image/bmp': '.bmp', 'image/tiff': '.tiff', 'image/svg+xml': '.svg', 'image/heic': '.heic', 'image/x-icon': '.ico',
  'application/pdf': '.pdf', 'application/zip': '.zip', 'application/gzip': '.gz', 'application/json': '.json',
  'application/xml': '.xml', 'text/xml': '.xml', 'application/msword': '.doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': '.docx',
  'application/vnd.ms-excel': '.xls', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': '.xlsx',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': '.pptx',
  'text/plain': '.txt', 'text/csv': '.csv', 'text/html': '.html', 'text/markdown': '.md', 'text/css': '.css',
  'text/javascript': '.js', 'audio/mpeg': '.mp3', 'audio/wav': '.wav', 'audio/ogg': '.ogg', 'audio/aac': '.aac',
  'audio/flac': '.flac', 'video/mp4': '.mp4', 'video/webm': '.webm', 'video/quicktime': '.mov', 'video/ogg': '.ogv',
}

const TYPE_BY_EXTENSION: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(EXTENSION_BY_TYPE).map(([type, ext]) => [ext, type])),
  '.jpeg': 'image/jpeg', '.jpe': 'image/jpeg', '.tif': 'image/tiff', '.htm': 'text/html', '.xml': 'application/xml',
  '.mjs': 'text/javascript', '.log': 'text/plain', '.m4a': 'audio/mp4', '.m4v': 'video/mp4',
}

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

/** A bare `type/subtype` of RFC 9110 token characters, which is all a signed POST condition needs. */
export const CONTENT_TYPE_PATTERN = "^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}$"
const CONTENT_TYPE_REGEXP = new RegExp(CONTENT_TYPE_PATTERN)

/** The lowercase extension of a file name (`.pdf`), if it has a sane one. */
export function extensionOf (filename: string): string | undefined {
  const base = filename.split(/[/\\]/).pop() ?? ''
  const match = /\.([A-Za-z0-9]{1,16})$/.exec(base)
  return match?.[1] === undefined || match.index === 0 ? undefined : `.${match[1].toLowerCase()}`
}

export function contentTypeForFilename (filename: string): string {
  const ext = extensionOf(filename)
  return (ext !== undefined ? TYPE_BY_EXTENSION[ext] : undefined) ?? DEFAULT_CONTENT_TYPE
}

/** The key's extension: the type's usual one, else the file name's, else none. */
export function keyExtensionFor (contentType: string, filename: string): string {
  return EXTENSION_BY_TYPE[contentType] ?? extensionOf(filename) ?? ''
}

/** Matches exact types and `type/*` patterns; an empty list allows every type. */
export function isContentTypeAllowed (contentType: string, allowed: readonly string[]): boolean {
  // Parameters or junk never pass, even with an empty list: the signed policy never allows them.
  if (!CONTENT_TYPE_REGEXP.test(contentType)) return false
  if (allowed.length === 0) return true
  const type = contentType.toLowerCase()
  return allowed.some((pattern) => pattern.endsWith('/*')
    ? type.startsWith(pattern.slice(0, -1))
    : type === pattern)
}

const INLINE_SAFE = /^(image\/(png|jpeg|gif|webp|avif|bmp)|application\/pdf|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)$/

/**
 * Types a browser can render without running anything the uploader wrote, and whose bytes confirm verified
 * (content sniffing). HTML, SVG and XML never are; nor is any text type, plain text included: text cannot be
 * sniffed, so nothing proves a "text/plain" upload is not a page some browser would render as one.
 */
export function isInlineSafe (contentType: string): boolean {
  const type = contentType.toLowerCase()
  return INLINE_SAFE.test(type) && isSniffable(type)
}
