// VARIANTS: the renditions to make of raster images, parsed from `name:size` pairs, the types they are made of, and where they lie.
import type { FileRecord } from '../schemas/file-record.js'
import { INTERNAL_PREFIX } from '../storage/record-store.js'

/** Every variant of a file lies under this prefix, whatever its name. */
export function variantsPrefixFor (id: string): string {
  return `${INTERNAL_PREFIX}variants/${id}/`
}

/** A variant's key is fixed by its file and name, so a DELETE can name one a variants job is writing right now. */
export function variantKeyFor (id: string, name: string): string {
  return `${variantsPrefixFor(id)}${name}.webp`
}

/**
 * The keys of every variant a file has or may be given while it is being deleted: those its record lists, and, for an
 * image, those the configured VARIANTS would make (a job may have written them but not yet listed them in the record).
 */
export function variantKeysOf (record: Pick<FileRecord, 'id' | 'content_type' | 'variants'>, specs: readonly VariantSpec[]): string[] {
  const keys = new Set(record.variants?.map((v) => v.key))
  if (hasVariants(record.content_type)) for (const { name } of specs) keys.add(variantKeyFor(record.id, name))
  return [...keys]
}

export interface VariantSpec {
  /** The name `?variant=` asks for: `[a-z0-9-]`, 1 to 32 characters. */
  readonly name: string
  /** The longest side in pixels (16 to 4096); smaller images are not enlarged. */
  readonly size: number
}

const PAIR = /^([a-z0-9-]{1,32}):(\d{1,4})$/

/** Parses `thumb:256,preview:1024`; throws a RangeError that names the bad entry. Empty means no variants. */
export function parseVariants (text: string): VariantSpec[] {
  const specs: VariantSpec[] = []
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const match = PAIR.exec(entry)
    const size = Number(match?.[2])
    if (match?.[1] === undefined || !(size >= 16 && size <= 4096)) {
      throw new RangeError(`"${entry}" is not name:size (name of [a-z0-9-] up to 32 characters, size 16 to 4096)`)
    }
    if (specs.some((s) => s.name === match[1])) throw new RangeError(`"${match[1]}" is named twice`)
    specs.push({ name: match[1], size })
  }
  return specs
}

/**
 * The raster types variants are made of: ones confirm verifies by their bytes and sharp's prebuilt libvips decodes.
 * Never SVG (a vector image is a program for its renderer), never anything confirm cannot verify.
 */
export const VARIANT_SOURCE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif', 'image/tiff']
const RASTER_TYPES = new Set(VARIANT_SOURCE_TYPES)

export function hasVariants (contentType: string): boolean {
  return RASTER_TYPES.has(contentType.toLowerCase())
}
