// The multipart flow on the real test S3: create, sign, PUT parts, resume from what S3 holds, complete once, abort.
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { bearer, buildTestApp, readObject } from '../helper.js'
import { tinyPng } from '../support/fixtures.js'
import { complete, createMultipart, multipartTraces, partBytes, uploadParts, type Created } from '../support/multipart.js'

const MiB = 1024 * 1024
const NO_LIMITS = { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '64MiB' }
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

t.test('a file in three parts: created, signed, sent, resumable, completed and recorded once', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, NO_LIMITS)
  const content = randomBytes(17 * MiB + 123)
  const created = await createMultipart(app, 'alice', { filename: 'Clip «final».mp4', size: content.length, content_type: 'application/octet-stream', metadata: { album: 'holidays' } })
  t.match(created, { part_size: 8 * MiB, part_count: 3, expires_in: 7 * 86400 }, 'filegate chose 8 MiB parts')
  t.match(created.key, new RegExp(`^uploads/\\d{4}/\\d{2}/\\d{2}/${created.file_id}\\.mp4$`), 'the key follows the layout, named by the file id')
  t.same(await multipartTraces(s3, bucket, created), { object: false, record: false, indexEntry: false, session: true, sessionIndexEntry: true, s3Upload: true })

  await uploadParts(app, 'alice', created, content, [1, 3])
  const status = await app.inject({ method: 'GET', url: `/files/multipart/${created.file_id}`, headers: bearer('alice') })
  t.equal(status.statusCode, 200)
  const held = status.json<{ parts: Array<{ number: number, size: number, etag: string }>, filename: string, size: number }>()
  t.same(held.parts.map((p) => [p.number, p.size, p.etag]),
    [1, 3].map((n) => [n, partBytes(content, created.part_size, n).length, createHash('md5').update(partBytes(content, created.part_size, n)).digest('hex')]),
    'S3 holds parts 1 and 3, with their sizes and MD5s')
  t.match(held, { filename: 'Clip «final».mp4', size: content.length })
  const listed = await app.inject({ method: 'GET', url: '/files/multipart', headers: bearer('alice') })
  t.same(listed.json<{ items: Array<{ file_id: string }> }>().items.map((i) => i.file_id), [created.file_id], 'it is listed as unfinished')

  const early = await complete(app, 'alice', created.file_id)
  t.equal(early.statusCode, 409, 'completing with a part missing is refused')
  t.match(early.body, { code: 'UPLOAD_INCOMPLETE', message: /part 2 of 3 is missing/ })
  t.same(await multipartTraces(s3, bucket, created), { object: false, record: false, indexEntry: false, session: true, sessionIndexEntry: true, s3Upload: true }, 'and nothing changed')

  await uploadParts(app, 'alice', created, content, [2])
  const done = await complete(app, 'alice', created.file_id)
  t.equal(done.statusCode, 201, 'the complete upload is recorded')
  t.match(done.body, {
    id: created.file_id, key: created.key, filename: 'Clip «final».mp4', content_type: 'application/octet-stream', size: content.length,
    etag: /^[0-9a-f]{32}-3$/, uploaded_by: 'alice', is_public: false, metadata: { album: 'holidays' },
  })
  t.notOk('md5' in done.body, 'a multipart record has no whole-file MD5')
  t.same(await multipartTraces(s3, bucket, created), { object: true, record: true, indexEntry: true, session: false, sessionIndexEntry: false, s3Upload: false },
    'the object, record and index entry stand; the session and the S3 upload are gone')

  t.equal(sha256(await readObject(s3, bucket, created.key)), sha256(content), 'the object holds the file\'s bytes')
  const again = await complete(app, 'alice', created.file_id)
  t.equal(again.statusCode, 200, 'completing again answers 200')
  t.same(again.body, done.body, 'with the same record')
  const files = await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })
  t.same(files.json<{ items: Array<{ id: string }> }>().items.map((i) => i.id), [created.file_id], 'the file is listed once')
  const download = await app.inject({ method: 'GET', url: `/files/download/${created.file_id}`, headers: bearer('alice') })
  const downloaded = new Uint8Array(await (await fetch(download.json<{ download_url: string }>().download_url)).arrayBuffer())
  t.equal(sha256(downloaded), sha256(content), 'and downloads intact')

  const late = await app.inject({ method: 'POST', url: `/files/multipart/${created.file_id}/parts`, headers: bearer('alice'), payload: { parts: [{ number: 1 }] } })
  t.equal(late.statusCode, 404, 'no part is signed for a completed upload')
  t.same((await app.inject({ method: 'GET', url: '/files/multipart', headers: bearer('alice') })).json<{ items: unknown[] }>().items, [], 'nor is it listed as unfinished')
})

t.test('complete checks the object as confirm does: content that is not its declared type is rejected and nothing is recorded', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, NO_LIMITS)
  const content = Buffer.concat([Buffer.from(`<!doctype html><script>alert(1)</script>${' '.repeat(5000)}`), randomBytes(9 * MiB)])
  const created = await createMultipart(app, 'alice', { filename: 'photo.png', size: content.length, content_type: 'image/png' })
  await uploadParts(app, 'alice', created, content)
  const done = await complete(app, 'alice', created.file_id)
  t.equal(done.statusCode, 422)
  t.match(done.body, { code: 'UPLOAD_REJECTED', message: /its content is text\/html, not image\/png/ })
  t.same(await multipartTraces(s3, bucket, created), { object: false, record: false, indexEntry: false, session: false, sessionIndexEntry: false, s3Upload: false }, 'nothing is left')

  const png = Buffer.concat([tinyPng(), randomBytes(9 * MiB)])
  const good = await createMultipart(app, 'alice', { filename: 'photo.png', size: png.length })
  await uploadParts(app, 'alice', good, png)
  t.match(await complete(app, 'alice', good.file_id), { statusCode: 201, body: { content_type: 'image/png' } }, 'a real PNG is recorded, its type inferred from the name')
})

t.test('abort discards the upload; it can then neither be completed nor signed', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, NO_LIMITS)
  const content = randomBytes(9 * MiB)
  const created: Created = await createMultipart(app, 'alice', { filename: 'cancelled.bin', size: content.length })
  await uploadParts(app, 'alice', created, content, [1])
  const aborted = await app.inject({ method: 'DELETE', url: `/files/multipart/${created.file_id}`, headers: bearer('alice') })
  t.equal(aborted.statusCode, 204)
  t.same(await multipartTraces(s3, bucket, created), { object: false, record: false, indexEntry: false, session: false, sessionIndexEntry: false, s3Upload: false }, 'nothing is left')
  t.match(await complete(app, 'alice', created.file_id), { statusCode: 404, body: { code: 'UPLOAD_NOT_FOUND' } })
  t.equal((await app.inject({ method: 'DELETE', url: `/files/multipart/${created.file_id}`, headers: bearer('alice') })).statusCode, 404, 'a second abort finds nothing')
})

t.test('sizes: over MAX_FILE_SIZE is refused at create; over 5 GiB a POST grant is refused with a pointer to multipart', async (t) => {
  const { app } = await buildTestApp(t, { MAX_FILE_SIZE: '6GiB' })
  const tooBig = await app.inject({ method: 'POST', url: '/files/multipart', headers: bearer('alice'), payload: { filename: 'x.bin', size: 6 * 1024 ** 3 + 1 } })
  t.equal(tooBig.statusCode, 400)
  t.match(tooBig.json(), { code: 'FILE_TOO_LARGE' })
  const post = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'x.bin', size: 5 * 1024 ** 3 + 1 } })
  t.equal(post.statusCode, 400)
  t.match(post.json(), { code: 'FILE_TOO_LARGE', message: /most one POST upload may carry; upload it in parts with POST \/files\/multipart/ })
  const undeclared = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'x.bin' } })
  t.equal(undeclared.json<{ max_size: number }>().max_size, 5 * 1024 ** 3, 'a POST grant without a size allows at most 5 GiB')
  const big = await app.inject({ method: 'POST', url: '/files/multipart', headers: bearer('alice'), payload: { filename: 'x.bin', size: 6 * 1024 ** 3 } })
  t.match(big.json(), { part_size: 8 * MiB, part_count: 768 }, 'a 6 GiB file is offered in parts')
  const abort = await app.inject({ method: 'DELETE', url: `/files/multipart/${big.json<{ file_id: string }>().file_id}`, headers: bearer('alice') })
  t.equal(abort.statusCode, 204)
})
