// Long owner claims (issue 16, finding 3): an owner too long for S3's keys is refused at the door with 401; every owner accepted works end to end.
import t, { type Test } from 'tap'
import { S3_MAX_KEY_BYTES } from '../../src/uploads/owner-limits.js'
import { bearer, buildTestApp, listKeys, postToS3, type TestApp } from '../helper.js'
import { liveKeys } from '../support/flow.js'

interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }

const listStatus = async (test: TestApp, owner: string) =>
  (await test.app.inject({ method: 'GET', url: '/files?limit=1', headers: bearer(owner) })).statusCode

/** The longest owner made of `unit` repeated that the app accepts, found by asking it (a binary search over GET /files). */
async function longestAccepted (test: TestApp, unit: string): Promise<string> {
  let low = 1
  let high = Math.floor(1024 / unit.length)
  if (await listStatus(test, unit.repeat(low)) !== 200) throw new Error('even the shortest owner is refused')
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (await listStatus(test, unit.repeat(mid)) === 200) low = mid
    else high = mid - 1
  }
  return unit.repeat(low)
}

/** Upload, confirm, list, download, start and abort a multipart upload, delete: every answer as for a short owner, and nothing left. */
async function fullFlow (t: Test, test: TestApp, owner: string): Promise<void> {
  const { app } = test
  const granted = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'long-owner.txt' } })
  t.equal(granted.statusCode, 200, 'upload-url: 200')
  const grant = granted.json<Grant>()
  t.equal((await postToS3(grant, 'owned by a long subject')).status, 204, 'S3 takes the upload')
  const confirmed = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })
  t.equal(confirmed.statusCode, 201, `confirm: 201 (${confirmed.body.slice(0, 200)})`)
  t.equal(confirmed.json().uploaded_by, owner)
  const listed = await app.inject({ method: 'GET', url: '/files', headers: bearer(owner) })
  t.same(listed.json().items.map((r: { id: string }) => r.id), [grant.file_id], 'listed')
  t.equal((await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer(owner) })).statusCode, 200, 'download URL: 200')
  const multipart = await app.inject({ method: 'POST', url: '/files/multipart', headers: bearer(owner), payload: { filename: 'big.bin', size: 6 * 1024 * 1024 } })
  t.equal(multipart.statusCode, 201, `multipart create: 201 (${multipart.body.slice(0, 200)})`)
  const uploads = await app.inject({ method: 'GET', url: '/files/multipart', headers: bearer(owner) })
  t.equal(uploads.json().items.length, 1, 'the unfinished upload is listed')
  t.equal((await app.inject({ method: 'DELETE', url: `/files/multipart/${multipart.json().file_id}`, headers: bearer(owner) })).statusCode, 204, 'multipart abort: 204')
  t.equal((await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer(owner) })).statusCode, 204, 'DELETE: 204')
  t.same(await liveKeys(test.s3, test.bucket), [], 'nothing is left but the tombstone')
}

for (const layout of ['date', 'owner'] as const) {
  t.test(`${layout} layout: a 1,000-character subject is 401 at the door; the longest accepted one works end to end`, async (t) => {
    const test = await buildTestApp(t, { UPLOAD_KEY_LAYOUT: layout, MAX_FILE_SIZE: '10MiB' })
    const thousand = 'u'.repeat(1000)
    for (const [method, url, payload] of [['POST', '/files/upload-url', { filename: 'a.txt' }], ['GET', '/files', undefined], ['POST', '/files/multipart', { filename: 'a.bin', size: 10 }]] as const) {
      const res = await test.app.inject({ method, url, headers: bearer(thousand), ...(payload !== undefined && { payload }) })
      t.equal(res.statusCode, 401, `${method} ${url}: 401`)
      t.equal(res.json().code, 'OWNER_TOO_LONG')
      t.match(res.json().message, /1000 bytes long .* at most \d+ bytes.*1024-byte limit/, 'the message says why and what is allowed')
    }
    t.same(await listKeys(test.s3, test.bucket), [], 'nothing was written')

    const ascii = await longestAccepted(test, 'u')
    t.comment(`${layout} layout: the longest ASCII owner accepted is ${ascii.length} bytes`)
    t.ok(ascii.length > 600 && ascii.length < 1000, `${ascii.length} bytes: near S3's key limit, below the 1,000 refused`)
    t.equal(await listStatus(test, `${ascii}u`), 401, 'one byte more is refused')
    await t.test('the longest ASCII owner', async (t) => { await fullFlow(t, test, ascii) })

    // Non-ASCII owners take 2-4 bytes a character in keys and up to 9 characters in metadata.
    const cjk = await longestAccepted(test, '日')
    t.comment(`${layout} layout: the longest owner of 日 accepted is ${cjk.length} characters`)
    t.ok(cjk.length > 50, 'a long non-ASCII owner is accepted too')
    await t.test('the longest non-ASCII owner', async (t) => { await fullFlow(t, test, cjk) })
    t.ok(S3_MAX_KEY_BYTES === 1024)
  })
}
