// Renders one variant: a WebP no larger than the given size, EXIF orientation applied, every metadata block dropped.
import sharp from 'sharp'

// libvips' operation cache holds decoded images between calls: variants are made once each, so it only holds memory.
sharp.cache(false)

export interface RenderedVariant { readonly bytes: Buffer, readonly width: number, readonly height: number }

/** The image is refused before decoding when its header declares more pixels than this (a decompression bomb). */
export class TooManyPixelsError extends Error {
  override name = 'TooManyPixelsError'
}

/**
 * `size` bounds the longer side (never enlarged). sharp writes no metadata unless asked (no EXIF, XMP, IPTC or ICC;
 * the pixels are converted to sRGB), and `rotate()` applies the EXIF orientation to the pixels before it goes.
 * `maxPixels` is checked against the header before any pixel is decoded.
 */
export async function renderVariant (input: Buffer, size: number, maxPixels: number): Promise<RenderedVariant> {
  const image = sharp(input, { limitInputPixels: maxPixels, failOn: 'error', animated: false, sequentialRead: true })
  let output
  try {
    output = await image.rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80, effort: 2 }).toBuffer({ resolveWithObject: true })
  } catch (error) {
    if (error instanceof Error && /pixel limit/i.test(error.message)) throw new TooManyPixelsError(`the image declares more than ${maxPixels} pixels`, { cause: error })
    throw error
  }
  return { bytes: output.data, width: output.info.width, height: output.info.height }
}
