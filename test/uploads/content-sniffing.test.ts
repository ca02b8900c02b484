// verifyContentType: which declared types are checked, which detections agree with them, and how unknown bytes are named.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { isSniffable, SNIFF_BYTES, verifyContentType } from '../../src/uploads/content-sniffing.js'
import { HTML_PAGE, tinyJpeg, tinyMp4, tinyPdf, tinyPng } from '../support/fixtures.js'

const bytes = (text: string) => new TextEncoder().encode(text)

t.test('images, PDF, archives, audio and video are sniffable; text-like and unknown types are not', (t) => {
  for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'application/zip', 'application/gzip',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'audio/mpeg', 'audio/wav', 'video/mp4', 'video/webm']) {
    t.ok(isSniffable(type), `${type} is checked`)
  }
  for (const type of ['text/plain', 'text/html', 'text/csv', 'application/json', 'application/xml', 'image/svg+xml', 'text/calendar',
    'application/octet-stream', 'application/x-made-up', 'image/x-made-up', 'video/x-made-up']) {
    t.notOk(isSniffable(type), `${type} is not`)
  }
  t.end()
})

t.test('matching bytes pass, also within one container family', async (t) => {
  const cases: Array<[string, Uint8Array]> = [
    ['image/png', tinyPng()], ['image/jpeg', tinyJpeg()], ['application/pdf', tinyPdf()], ['video/mp4', tinyMp4()],
    ['audio/mp4', tinyMp4()], ['video/quicktime', tinyMp4()], ['IMAGE/PNG', tinyPng()],
  ]
  for (const [type, sample] of cases) t.same(await verifyContentType(type, sample), { ok: true }, `${type}`)
})

t.test('a sample cut at SNIFF_BYTES still identifies a larger file', async (t) => {
  const big = Buffer.concat([tinyPdf(), randomBytes(50_000)]).subarray(0, SNIFF_BYTES)
  t.same(await verifyContentType('application/pdf', big), { ok: true })
})

t.test('mismatches name what the bytes are', async (t) => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['image/png', bytes(HTML_PAGE), 'text/html'],
    ['image/png', bytes('\ufeff   <html><body>hi'), 'text/html'],
    ['image/png', bytes('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 'image/svg+xml'],
    ['image/jpeg', bytes('<?xml version="1.0"?><svg/>'), 'image/svg+xml'],
    ['image/gif', bytes('<?xml version="1.0"?><root/>'), 'application/xml'],
    ['application/pdf', bytes('hello, world'), 'text/plain'],
    ['image/png', tinyPdf(), 'application/pdf'],
    ['application/pdf', tinyPng(), 'image/png'],
    ['video/mp4', tinyJpeg(), 'image/jpeg'],
    ['audio/mpeg', tinyPng(), 'image/png'],
    ['application/zip', tinyPdf(), 'application/pdf'],
    ['image/png', new Uint8Array([0, 1, 2, 3, 250, 251, 252, 253]), 'unrecognised binary data'],
    ['image/png', new Uint8Array(), 'unrecognised binary data'],
  ]
  for (const [type, sample, detected] of cases) t.same(await verifyContentType(type, sample), { ok: false, detected }, `${type} ← ${detected}`)
})

t.test('a sample cut inside a UTF-8 character is still text', async (t) => {
  const text = bytes(`${'é'.repeat(10)}`)
  t.same(await verifyContentType('image/png', text.subarray(0, text.length - 1)), { ok: false, detected: 'text/plain' })
})

t.test('types that cannot be sniffed pass whatever their bytes', async (t) => {
  for (const type of ['text/plain', 'application/json', 'application/octet-stream', 'image/svg+xml']) {
    t.same(await verifyContentType(type, bytes(HTML_PAGE)), { ok: true }, type)
  }
})

t.test('hostile bytes never throw', async (t) => {
  for (let i = 0; i < 200; i++) {
    const sample = randomBytes(1 + (i * 37) % SNIFF_BYTES)
    const verdict = await verifyContentType(i % 2 === 0 ? 'image/png' : 'application/zip', sample)
    if (verdict.ok) t.fail('random bytes passed as a PNG or ZIP')
  }
  // Truncated containers whose headers promise more than the sample holds.
  for (const head of [tinyMp4().subarray(0, 12), Buffer.from('PK\u0003\u0004'), Buffer.from('ID3\u0004\u0000\u0000\u007f\u007f\u007f\u007f')]) {
    await verifyContentType('video/mp4', head)
  }
  t.pass('no throw')
})
