// File names in any script round-trip into records and come back in a valid, safe Content-Disposition.
import t from 'tap'
import { bearer, buildTestApp, postToS3 } from '../helper.js'
import { tinyPdf, tinyPng } from '../support/fixtures.js'

/** Bytes that are what the name says: confirm sniffs PNG and PDF uploads. */
const contentFor = (filename: string): Uint8Array<ArrayBuffer> | string =>
  filename.endsWith('.pdf') ? new Uint8Array(tinyPdf()) : filename.endsWith('.png') ? new Uint8Array(tinyPng()) : 'content'

const NAMES = ['résumé.pdf', '報告.pdf', 'a"b.txt', 'x\\r\\nSet-Cookie: y.txt'.replace(/\\r\\n/, '\r\n'), '../../etc/passwd', 'emoji 🎉.png', 'back\\slash.txt', 'semi;colon=.txt']

/** Checks the header against RFC 6266's shape and returns the UTF-8 name it carries. */
function parseDisposition (value: string): { type: string, fallback: string, name: string } {
  const match = /^(inline|attachment); filename="([\x20\x21\x23-\x5b\x5d-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+.^_`|~%-]+)$/.exec(value)
  if (match === null) throw new Error(`not a valid Content-Disposition: ${value}`)
  return { type: match[1] ?? '', fallback: match[2] ?? '', name: decodeURIComponent(match[3] ?? '') }
}

t.test('original names survive, safely', async (t) => {
  const { app } = await buildTestApp(t)
  for (const filename of NAMES.filter((n) => !/[\r\n]/.test(n))) {
    const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
    t.notMatch(grant.key, /\.\.|passwd|"/, `${filename}: the key never carries the name`)
    t.equal((await postToS3(grant, contentFor(filename))).status, 204, `${filename}: uploaded`)
    const record = (await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).json<{ filename: string }>()
    t.equal(record.filename, filename, `${filename}: the record keeps the exact name`)
    const { download_url: url } = (await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer('alice') })).json<{ download_url: string }>()
    const res = await fetch(url)
    await res.arrayBuffer()
    const header = res.headers.get('content-disposition') ?? ''
    t.match(header, /^[\x20-\x7e]+$/, `${filename}: the header is printable ASCII`)
    const parsed = parseDisposition(header)
    t.equal(parsed.name, filename, `${filename}: filename* decodes to the exact name`)
    t.equal(parsed.type, 'attachment')
  }
})

t.test('control characters in a name are refused before anything is signed', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'x\r\nSet-Cookie: y.txt' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'VALIDATION_ERROR')
  // A download name override is held to the same rule.
  t.equal((await app.inject({ method: 'GET', url: `/files/download/0190a0a0-0000-7000-8000-000000000000?filename=${encodeURIComponent('a\r\nb')}`, headers: bearer('alice') })).json().code, 'VALIDATION_ERROR')
})

t.test('HTML, SVG and text are never inline; verified types are when asked', async (t) => {
  const { app } = await buildTestApp(t)
  for (const [filename, inline] of [['page.html', false], ['logo.svg', false], ['data.xml', false], ['blob.bin', false], ['photo.png', true], ['doc.pdf', true], ['notes.txt', false]] as const) {
    const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
    t.equal((await postToS3(grant, contentFor(filename))).status, 204)
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).statusCode, 201)
    const { download_url: url } = (await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}?disposition=inline&filename=${encodeURIComponent('shown ' + filename)}`, headers: bearer('alice') })).json<{ download_url: string }>()
    const res = await fetch(url)
    await res.arrayBuffer()
    const parsed = parseDisposition(res.headers.get('content-disposition') ?? '')
    t.equal(parsed.type, inline ? 'inline' : 'attachment', `${filename}: ${inline ? 'inline' : 'attachment'}`)
    t.equal(parsed.name, `shown ${filename}`, 'the requested download name is used')
  }
})
