// Content sniffing at confirm: an upload whose bytes are not its declared type is rejected and deleted; real files pass.
import t from 'tap'
import { recordKeyFor } from '../../src/storage/record-store.js'
import { bearer, buildTestApp, listKeys, postToS3, type TestApp } from '../helper.js'
import { HTML_PAGE, tinyJpeg, tinyMp4, tinyPdf, tinyPng } from '../support/fixtures.js'

interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }

async function upload (test: TestApp, owner: string, filename: string, body: Uint8Array<ArrayBuffer> | string, contentType?: string): Promise<Grant> {
  const res = await test.app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename, ...(contentType !== undefined && { content_type: contentType }) } })
  if (res.statusCode !== 200) throw new Error(`upload-url answered ${res.statusCode}: ${res.body}`)
  const grant = res.json<Grant>()
  const posted = await postToS3(grant, body)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status}`)
  return grant
}

t.test('a PNG-declared upload whose bytes are HTML or a PDF is rejected at confirm and deleted', async (t) => {
  const test = await buildTestApp(t)
  const impostors = [
    { name: 'an HTML page', body: HTML_PAGE, detected: 'text/html' },
    { name: 'a PDF', body: tinyPdf(), detected: 'application/pdf' },
    { name: 'a JPEG', body: tinyJpeg(), detected: 'image/jpeg' },
    { name: 'random text', body: 'just some words, no picture', detected: 'text/plain' },
  ]
  for (const impostor of impostors) {
    const grant = await upload(test, 'alice', 'avatar.png', typeof impostor.body === 'string' ? impostor.body : new Uint8Array(impostor.body))
    t.equal(grant.fields['Content-Type'], 'image/png', `${impostor.name}: declared image/png`)
    t.ok((await listKeys(test.s3, test.bucket)).includes(grant.key), `${impostor.name}: S3 took it (the policy cannot see content)`)
    const res = await test.app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(res.statusCode, 422, `${impostor.name}: 422`)
    t.equal(res.json().code, 'UPLOAD_REJECTED')
    t.match(res.json().message, `its content is ${impostor.detected}, not image/png`, `${impostor.name}: the message names the detected type`)
    const keys = await listKeys(test.s3, test.bucket)
    t.notOk(keys.includes(grant.key), `${impostor.name}: the object was deleted`)
    t.notOk(keys.includes(recordKeyFor(grant.file_id)), `${impostor.name}: no record`)
    const again = await test.app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(again.json().code, 'UPLOAD_NOT_FOUND', `${impostor.name}: a retry finds nothing`)
  }
  const list = await test.app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })
  t.same(list.json().items, [], 'nothing was recorded')
})

t.test('real PNG, JPEG, PDF and MP4 files pass and keep their verified type', async (t) => {
  const test = await buildTestApp(t)
  const files = [
    { filename: 'dot.png', body: tinyPng(), type: 'image/png' },
    { filename: 'dot.jpg', body: tinyJpeg(), type: 'image/jpeg' },
    { filename: 'page.pdf', body: tinyPdf(), type: 'application/pdf' },
    { filename: 'clip.mp4', body: tinyMp4(), type: 'video/mp4' },
    // The same MP4 container declared as audio: one family, so it passes as what it was declared.
    { filename: 'clip.m4a', body: tinyMp4(), type: 'audio/mp4' },
  ]
  for (const file of files) {
    const grant = await upload(test, 'alice', file.filename, new Uint8Array(file.body))
    const res = await test.app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(res.statusCode, 201, `${file.filename}: recorded`)
    t.equal(res.json().content_type, file.type, `${file.filename}: the record keeps ${file.type}`)
    t.equal(res.json().size, file.body.length)
    const download = await test.app.inject({ method: 'GET', url: `/files/download/${grant.file_id}?disposition=inline`, headers: bearer('alice') })
    const served = await fetch(download.json<{ download_url: string }>().download_url)
    t.ok(Buffer.from(await served.arrayBuffer()).equals(file.body), `${file.filename}: the same bytes come back`)
    t.equal(served.headers.get('content-type'), file.type)
    t.match(served.headers.get('content-disposition'), /^inline; /, `${file.filename}: a verified type may be shown inline`)
  }
})

t.test('text-like types cannot be sniffed: stored as declared, never served inline', async (t) => {
  const test = await buildTestApp(t)
  for (const [filename, type] of [['notes.txt', 'text/plain'], ['table.csv', 'text/csv'], ['data.json', 'application/json']] as const) {
    // HTML in a text file: nothing can prove otherwise, so it is kept, but a browser is never asked to render it.
    const grant = await upload(test, 'alice', filename, HTML_PAGE, type)
    const res = await test.app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(res.statusCode, 201, `${type}: stored`)
    t.equal(res.json().content_type, type, `${type}: as declared`)
    const download = await test.app.inject({ method: 'GET', url: `/files/download/${grant.file_id}?disposition=inline&redirect=true`, headers: bearer('alice') })
    t.equal(download.statusCode, 302)
    const served = await fetch(String(download.headers.location))
    await served.arrayBuffer()
    t.match(served.headers.get('content-disposition'), /^attachment; /, `${type}: inline was asked for, attachment is served`)
  }
})

t.test('confirm judges the bytes S3 holds now: an impostor replaced under the same grant by a real PNG passes', async (t) => {
  const test = await buildTestApp(t)
  const grant = await upload(test, 'alice', 'late.png', HTML_PAGE)
  t.equal((await postToS3(grant, new Uint8Array(tinyPng()))).status, 204, 'the grant is still valid: same key, new bytes')
  const res = await test.app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  t.equal(res.statusCode, 201)
  t.equal(res.json().size, tinyPng().length, 'the record describes the PNG')
})
