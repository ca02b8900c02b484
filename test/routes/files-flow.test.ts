// The whole flow over real HTTP: upload-url, a multipart POST to S3, confirm twice, download, list, delete.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { ownerIndexKeyFor } from '../../src/storage/record-store.js'
import { bearer, buildTestApp, listKeys, postToS3 } from '../helper.js'
import { tinyPdf, tinyPng } from '../support/fixtures.js'
import { isBuried, liveKeys } from '../support/flow.js'

t.test('upload, confirm, download, list and delete over HTTP', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const auth = { ...bearer('alice'), 'content-type': 'application/json' }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers: auth, redirect: 'manual', ...(body !== undefined && { body: JSON.stringify(body) }) })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) as Record<string, unknown> }
  }

  // A PDF header, then noise: confirm sniffs the first bytes, so a ".pdf" must start like one.
  const bytes = Buffer.concat([tinyPdf(), randomBytes(200_000)])
  const grant = await call('POST', '/files/upload-url', { filename: 'Quarterly report.pdf', size: bytes.length, metadata: { project: 'q3' } })
  t.equal(grant.status, 200)
  const { url, key, fields, file_id: fileId, max_size: maxSize, expires_in: expiresIn } = grant.body as { url: string, key: string, fields: Record<string, string>, file_id: string, max_size: number, expires_in: number }
  t.match(key, new RegExp(`^uploads/\\d{4}/\\d{2}/\\d{2}/${fileId}\\.pdf$`), 'the key is <prefix><date>/<id><ext>')
  t.equal(maxSize, bytes.length, 'a declared size becomes the limit')
  t.equal(expiresIn, 900)
  t.equal(fields['Content-Type'], 'application/pdf', 'the type is inferred from the name')

  const upload = await postToS3({ url, fields }, bytes)
  t.equal(upload.status, 204, 'S3 accepts the POST')

  const first = await call('POST', `/files/confirm/${key}`)
  t.equal(first.status, 201, 'the first confirm creates the record')
  t.match(first.body, { id: fileId, key, filename: 'Quarterly report.pdf', content_type: 'application/pdf', size: bytes.length, uploaded_by: 'alice', is_public: false, metadata: { project: 'q3' } })
  const again = await call('POST', `/files/confirm/${encodeURIComponent(key)}`)
  t.equal(again.status, 200, 'a repeated confirm (URL-encoded key) answers 200')
  t.same(again.body, first.body, 'with the same record')

  const download = await call('GET', `/files/download/${fileId}`)
  t.equal(download.status, 200)
  const fileRes = await fetch(String(download.body?.download_url))
  t.equal(fileRes.status, 200)
  t.ok(Buffer.from(await fileRes.arrayBuffer()).equals(bytes), 'the download returns identical bytes')
  t.equal(fileRes.headers.get('content-disposition'), 'attachment; filename="Quarterly report.pdf"; filename*=UTF-8\'\'Quarterly%20report.pdf')

  const redirect = await call('GET', `/files/download/${fileId}?redirect=true&disposition=inline`)
  t.equal(redirect.status, 302)
  const inline = await fetch(String(redirect.headers.get('location')))
  t.match(inline.headers.get('content-disposition'), /^inline; /, 'a PDF may be shown inline')
  await inline.arrayBuffer()

  const list = await call('GET', '/files')
  t.equal(list.status, 200)
  t.same((list.body?.items as Array<{ id: string }>).map((r) => r.id), [fileId], 'the list shows the file')
  t.equal(list.body?.next_cursor, null)

  const got = await call('GET', `/files/${fileId}`)
  t.same(got.body, first.body)

  const deleted = await call('DELETE', `/files/${fileId}`)
  t.equal(deleted.status, 204)
  t.same(await liveKeys(s3, bucket), [], 'object, index entry and record are gone')
  t.ok(await isBuried(s3, bucket, fileId), 'the record is a tombstone')
  t.notOk((await listKeys(s3, bucket)).includes(ownerIndexKeyFor('alice', fileId)))
  t.equal((await call('GET', `/files/download/${fileId}`)).body?.code, 'FILE_NOT_FOUND')
  const reconfirm = await call('POST', `/files/confirm/${key}`)
  t.equal(reconfirm.status, 404)
  t.equal(reconfirm.body?.code, 'UPLOAD_NOT_FOUND')
  t.equal((await call('DELETE', `/files/${fileId}`)).status, 404, 'a second delete finds nothing')
})

t.test('the list pages newest first with an opaque cursor', async (t) => {
  const { app } = await buildTestApp(t)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const grant = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('bob'), payload: { filename: `note-${i}.txt` } })
    const { url, fields, key, file_id: id } = grant.json<{ url: string, fields: Record<string, string>, key: string, file_id: string }>()
    t.equal((await postToS3({ url, fields }, `note ${i}`)).status, 204)
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${key}`, headers: bearer('bob') })).statusCode, 201)
    ids.push(id)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
    const page = await app.inject({ method: 'GET', url: `/files?limit=2${query}`, headers: bearer('bob') })
    t.equal(page.statusCode, 200)
    const body = page.json<{ items: Array<{ id: string }>, next_cursor: string | null }>()
    t.ok(body.items.length <= 2)
    seen.push(...body.items.map((r) => r.id))
    cursor = body.next_cursor
  } while (cursor !== null)
  t.same(seen, [...ids].reverse(), 'every file once, newest first')
  const bad = await app.inject({ method: 'GET', url: '/files?cursor=not-a-cursor', headers: bearer('bob') })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'VALIDATION_ERROR')
})

t.test('the owner key layout works end to end', async (t) => {
  const { app } = await buildTestApp(t, { UPLOAD_KEY_LAYOUT: 'owner', UPLOAD_PREFIX: 'media/user-files/' })
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('auth0|dave'), payload: { filename: 'pic.png' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  t.equal(grant.key, `media/user-files/${Buffer.from('auth0|dave').toString('base64url')}/${grant.file_id}.png`, 'the key is <prefix><owner>/<id><ext>')
  t.equal((await postToS3(grant, tinyPng())).status, 204)
  const confirm = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('auth0|dave') })
  t.equal(confirm.statusCode, 201)
  t.equal(confirm.json().uploaded_by, 'auth0|dave')
  const dateKey = `media/user-files/2026/01/01/${grant.file_id}.png`
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${dateKey}`, headers: bearer('auth0|dave') })).json().code, 'INVALID_KEY', 'a date-layout key is not this layout\'s')
})
