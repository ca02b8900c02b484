// Rendering variants with sharp: orientation applied, bounds kept, every metadata block gone, bombs refused unread.
import sharp from 'sharp'
import t from 'tap'
import { renderVariant, TooManyPixelsError } from '../../src/variants/render-variant.js'
import { hasVariants, parseVariants } from '../../src/variants/variant-spec.js'
import { PLACE, photoWithGps, pngBomb, webpChunks } from '../support/images.js'

t.test('VARIANTS is parsed strictly', async (t) => {
  t.same(parseVariants('thumb:256, preview:1024'), [{ name: 'thumb', size: 256 }, { name: 'preview', size: 1024 }])
  t.same(parseVariants(''), [])
  for (const bad of ['thumb', 'thumb:8', 'thumb:5000', 'Thumb:256', 'a:256,a:512', 'thumb:256px']) t.throws(() => parseVariants(bad), RangeError, bad)
  t.ok(hasVariants('image/jpeg') && hasVariants('IMAGE/PNG'))
  t.notOk(hasVariants('image/svg+xml'), 'never SVG')
  t.notOk(hasVariants('application/pdf') || hasVariants('image/heic'))
})

t.test('a JPEG with GPS and orientation 6: rotated, bounded, and nothing names the place', async (t) => {
  const photo = await photoWithGps()
  const before = await sharp(photo).metadata()
  t.equal(before.orientation, 6, 'the fixture is stored with orientation 6')
  t.ok(before.exif !== undefined && before.xmp !== undefined && before.icc !== undefined, 'and carries EXIF, XMP and ICC')
  t.ok(photo.includes(Buffer.from(PLACE)), 'and the place in plain bytes')

  const thumb = await renderVariant(photo, 256, 40_000_000)
  t.same([thumb.width, thumb.height], [128, 256], 'shown upright (200 × 400) and scaled into 256 × 256')
  const chunks = webpChunks(thumb.bytes)
  t.ok(chunks.every((c) => ['VP8 ', 'VP8L', 'VP8X'].includes(c)), `only image chunks in the WebP (${chunks.join(', ')})`)
  const after = await sharp(thumb.bytes).metadata()
  t.equal(after.format, 'webp')
  t.same([after.exif, after.xmp, after.icc, after.iptc, after.orientation], [undefined, undefined, undefined, undefined, undefined], 'no EXIF, XMP, ICC, IPTC or orientation')
  t.notOk(thumb.bytes.includes(Buffer.from(PLACE)) || thumb.bytes.includes(Buffer.from('Grindelwald')), 'the place appears nowhere in the bytes')
  t.notOk(thumb.bytes.includes(Buffer.from('GPS')) || thumb.bytes.includes(Buffer.from('Exif')), 'nor any EXIF marker')

  const { data, info } = await sharp(thumb.bytes).raw().toBuffer({ resolveWithObject: true })
  const pixel = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3))
  const [topR = 0, , topB = 0] = pixel(64, 20)
  const [bottomR = 0, , bottomB = 0] = pixel(64, 236)
  t.ok(topR > 200 && topB < 60, `red on top after rotation (${pixel(64, 20).join(',')})`)
  t.ok(bottomB > 200 && bottomR < 60, `blue below (${pixel(64, 236).join(',')})`)

  const small = await renderVariant(photo, 1024, 40_000_000)
  t.same([small.width, small.height], [200, 400], 'never enlarged')
})

t.test('a decompression bomb is refused from its header', async (t) => {
  const bomb = pngBomb()
  t.ok(bomb.length < 2000, `the bomb is ${bomb.length} bytes`)
  const rss = process.memoryUsage().rss
  await t.rejects(renderVariant(bomb, 256, 40_000_000), TooManyPixelsError)
  const grown = process.memoryUsage().rss - rss
  t.ok(grown < 200 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MiB, not the 7 GiB its pixels would take`)
})
