// Test images made at run time: a JPEG with GPS, XMP and orientation 6, a PNG decompression bomb, and WebP chunk parsing.
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'

/** Where the test photo claims it was taken: must not survive into any variant. */
export const PLACE = 'Gletscherweg 7, Grindelwald'

/**
 * A 400 × 200 JPEG, red on the left half and blue on the right, stored with EXIF orientation 6 (shown turned 90°
 * clockwise: 200 × 400, red on top), GPS coordinates, the place in EXIF, XMP and IPTC-like text, and an ICC profile.
 */
export async function photoWithGps (): Promise<Buffer> {
  const half = { width: 200, height: 200, channels: 3 } as const
  const red = await sharp({ create: { ...half, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer()
  const blue = await sharp({ create: { ...half, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer()
  const xmp = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="${PLACE}"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
  return await sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite([{ input: red, left: 0, top: 0 }, { input: blue, left: 200, top: 0 }])
    .withMetadata({ orientation: 6, icc: 'p3' })
    .withExif({
      IFD0: { ImageDescription: PLACE, Copyright: 'Test' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '46/1 37/1 30/1', GPSLongitudeRef: 'E', GPSLongitude: '8/1 2/1 24/1' },
    })
    .withXmp(xmp)
    .jpeg({ quality: 90 })
    .toBuffer()
}

function pngChunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

/** A PNG of a few hundred bytes whose header declares `side` × `side` RGB pixels (its IDAT holds a few rows of zeros). */
export function pngBomb (side = 50_000): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(side, 0)
  header.writeUInt32BE(side, 4)
  header[8] = 8
  header[9] = 2
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(Buffer.alloc(3 * side + 1))), pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** The chunk names of a WebP file (RIFF): `VP8 `, `VP8L`, `VP8X`, `EXIF`, `XMP `, `ICCP`, … */
export function webpChunks (bytes: Buffer): string[] {
  if (bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WEBP') throw new Error('not a WebP file')
  const chunks: string[] = []
  for (let offset = 12; offset + 8 <= bytes.length;) {
    const size = bytes.readUInt32LE(offset + 4)
    chunks.push(bytes.toString('latin1', offset, offset + 4))
    offset += 8 + size + (size % 2)
  }
  return chunks
}
