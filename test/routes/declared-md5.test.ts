// A POST upload may declare its MD5 at upload-url: confirm compares it with the object's ETag and refuses a mismatch (422).
import { createHash } from 'node:crypto'
import t from 'tap'
import { bearer, buildTestApp, postToS3 } from '../helper.js'
import { fileTraces, type Grant } from '../support/flow.js'

const md5 = (text: string) => createHash('md5').update(text).digest('base64')

t.test('declared MD5: bytes that match are recorded with it, other bytes are rejected and deleted', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false' })
  const grantFor = async (declared: string) => {
    const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'report.txt', md5: declared } })
    t.equal(res.statusCode, 200)
    return res.json<Grant>()
  }

  const good = await grantFor(md5('the declared bytes'))
  t.equal(good.fields['x-amz-meta-md5'], md5('the declared bytes'), 'the grant signs the declared MD5 into the object\'s metadata')
  t.equal((await postToS3(good, 'the declared bytes')).status, 204)
  const recorded = await app.inject({ method: 'POST', url: `/files/confirm/${good.key}`, headers: bearer('alice') })
  t.equal(recorded.statusCode, 201)
  t.match(recorded.json(), { md5: md5('the declared bytes'), etag: createHash('md5').update('the declared bytes').digest('hex'), metadata: {} },
    'the record carries the verified MD5, and not as caller metadata')

  const bad = await grantFor(md5('the declared bytes'))
  t.equal((await postToS3(bad, 'other bytes, same grant')).status, 204, 'the store takes the bytes (RGW ignores Content-MD5 in a POST form)')
  const refused = await app.inject({ method: 'POST', url: `/files/confirm/${bad.key}`, headers: bearer('alice') })
  t.equal(refused.statusCode, 422)
  t.same(refused.json(), {
    statusCode: 422, code: 'UPLOAD_REJECTED', error: 'Unprocessable Entity',
    message: `The upload was rejected and deleted: its MD5 is ${md5('other bytes, same grant')}, not the declared ${md5('the declared bytes')}`,
  })
  t.same(await fileTraces(s3, bucket, 'alice', bad), { object: false, record: false, indexEntry: false }, 'the object is deleted and nothing recorded')

  const malformed = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt', md5: 'abc' } })
  t.equal(malformed.statusCode, 400, 'an MD5 that is not base64 of 16 bytes is refused')
  const reserved = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt', metadata: { md5: 'x' } } })
  t.match(reserved.json(), { statusCode: 400, message: 'metadata keys md5 are reserved' }, 'callers cannot set the md5 metadata themselves')
})
