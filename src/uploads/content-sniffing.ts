// Content sniffing: what an upload's first bytes say it is, and whether that agrees with the type it was declared as.
import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type'

/** How many leading bytes confirm reads: file-type detects nearly every format it knows within this range. */
export const SNIFF_BYTES = 4100

/**
 * Types that are one format under several names, or containers the detector may name either way
 * (an MP4 whose brand says M4V, a DOCX whose first entry does not show yet that it is more than a ZIP).
 */
const FAMILIES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['image/png', 'image/apng']),
  new Set(['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence']),
  new Set(['image/tiff', 'image/x-adobe-dng', 'image/x-canon-cr2', 'image/x-nikon-nef', 'image/x-sony-arw', 'image/x-olympus-orf', 'image/x-panasonic-rw2']),
  new Set(['video/mp4', 'audio/mp4', 'audio/x-m4a', 'video/x-m4v', 'video/quicktime', 'video/3gpp', 'video/3gpp2']),
  new Set(['audio/ogg', 'audio/opus', 'video/ogg', 'application/ogg']),
  new Set(['video/webm', 'audio/webm', 'video/matroska', 'video/x-matroska', 'audio/x-matroska']),
  new Set(['video/x-ms-asf', 'audio/x-ms-asf', 'application/vnd.ms-asf']),
  new Set(['audio/wav', 'audio/x-wav', 'audio/wave']),
]

/** ZIP containers: every one of them may be detected as a plain ZIP from its first bytes. */
function isZipBased (type: string): boolean {
  return type === 'application/zip' || type.endsWith('+zip') || type === 'application/java-archive' ||
    type === 'application/vnd.android.package-archive' || type.startsWith('application/vnd.openxmlformats-officedocument.') ||
    type.startsWith('application/vnd.oasis.opendocument.') || /^application\/vnd\.ms-[a-z]+\.[a-z.]*macroenabled\.12$/.test(type)
}

const ARCHIVES = new Set([
  'application/gzip', 'application/x-7z-compressed', 'application/x-rar-compressed', 'application/x-tar', 'application/x-bzip2',
  'application/x-xz', 'application/zstd', 'application/x-lzip', 'application/x-lz4', 'application/x-compress', 'application/x-cpio',
  'application/vnd.ms-cab-compressed', 'application/x-deb', 'application/x-rpm', 'application/x-apple-diskimage',
])

/** Images, PDF, archives, audio and video: binary formats whose first bytes identify them. Text-like types never are. */
function isBinaryFamily (type: string): boolean {
  return /^(image|audio|video)\//.test(type) || type === 'application/pdf' || ARCHIVES.has(type) || isZipBased(type)
}

/** Whether the detector can tell if bytes are of this (lowercase, bare) type, so a mismatch can be refused. */
export function isSniffable (type: string): boolean {
  return isBinaryFamily(type) && (supportedMimeTypes.has(type) || FAMILIES.some((family) => family.has(type)))
}

function compatible (declared: string, detected: string): boolean {
  if (declared === detected) return true
  if (isZipBased(declared) && isZipBased(detected)) return true
  return FAMILIES.some((family) => family.has(declared) && family.has(detected))
}

/** A name for bytes the detector does not know: markup a browser would render, other text, or binary data. */
function describeUndetected (bytes: Uint8Array): string {
  // The sample may end inside a multi-byte character: drop up to three trailing bytes before deciding it is not UTF-8.
  let text: string | undefined
  for (let cut = 0; cut <= 3 && text === undefined && cut < bytes.length; cut++) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - cut))
    } catch {
      text = undefined
    }
  }
  if (text === undefined || /[\u0000-\u0008\u000e-\u001f]/.test(text)) return 'unrecognised binary data'
  const start = text.replace(/^\ufeff/, '').trimStart().slice(0, 512).toLowerCase()
  if (start.startsWith('<svg') || (start.startsWith('<?xml') && start.includes('<svg'))) return 'image/svg+xml'
  if (start.startsWith('<?xml')) return 'application/xml'
  if (start.startsWith('<')) return 'text/html'
  return 'text/plain'
}

export type SniffVerdict = { readonly ok: true } | { readonly ok: false, readonly detected: string }

/**
 * Checks the first bytes of an upload against its declared type. Types the detector cannot verify (text, JSON,
 * SVG, unknown) pass as declared; filegate never serves them inline (see isInlineSafe).
 */
export async function verifyContentType (declared: string, sample: Uint8Array): Promise<SniffVerdict> {
  const type = declared.toLowerCase()
  if (!isSniffable(type)) return { ok: true }
  let detected: string | undefined
  try {
    detected = (await fileTypeFromBuffer(sample))?.mime
  } catch {
    // A parser failing on hostile bytes has detected nothing.
    detected = undefined
  }
  const bare = detected?.split(';')[0]?.trim().toLowerCase()
  if (bare !== undefined && bare !== '' && compatible(type, bare)) return { ok: true }
  // The detector calls SVG plain XML; name it for what a browser would do with it.
  const named = bare === undefined || bare === '' || bare === 'application/xml' ? describeUndetected(sample) : bare
  return { ok: false, detected: named }
}
