// VARIANTS: the renditions to make of raster images, parsed from `name:size` pairs, and the types they are made of.

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
