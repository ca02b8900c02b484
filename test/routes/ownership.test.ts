// Ownership: another user's file answers exactly like a missing one, everywhere.
import t from 'tap'
import { bearer, buildTestApp, listKeys, postToS3 } from '../helper.js'

t.test('user B cannot confirm, get, download, delete or list user A\'s file', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t)
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'secret.txt' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  t.equal((await postToS3(grant, 'alice only')).status, 204)

  const stolen = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('bob') })
  t.equal(stolen.statusCode, 404, 'B confirming A\'s upload: 404')
  t.equal(stolen.json().code, 'UPLOAD_NOT_FOUND')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).statusCode, 201)

  const missing = (await app.inject({ method: 'GET', url: '/files/0190a0a0-0000-7000-8000-000000000000', headers: bearer('bob') })).json()
  for (const [method, url] of [['GET', `/files/${grant.file_id}`], ['GET', `/files/download/${grant.file_id}`], ['DELETE', `/files/${grant.file_id}`]] as const) {
    const res = await app.inject({ method, url, headers: bearer('bob') })
    t.equal(res.statusCode, 404, `B: ${method} ${url} is 404`)
    t.same(res.json(), missing, 'exactly like a missing file')
  }
  const list = await app.inject({ method: 'GET', url: '/files', headers: bearer('bob') })
  t.same(list.json().items, [], 'B\'s list never shows A\'s files')
  const aliceList = await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })
  t.equal(aliceList.json().items.length, 1, 'A still sees it')
  t.ok((await listKeys(s3, bucket)).includes(grant.key), 'the object is untouched')
})
