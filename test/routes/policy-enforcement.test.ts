// S3 itself refuses what the signed POST policy forbids; nothing it refuses leaves an object or a record behind.
import t from 'tap'
import { bearer, buildTestApp, listKeys, postToS3, type TestApp } from '../helper.js'

interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }

async function grantFor (app: TestApp['app'], body: Record<string, unknown>): Promise<Grant> {
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: body })
  if (res.statusCode !== 200) throw new Error(`upload-url answered ${res.statusCode}: ${res.body}`)
  return res.json<Grant>()
}

t.test('S3 refuses uploads outside the policy', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { MAX_FILE_SIZE: '1KiB' })
  const cases: Array<{ name: string, status: number, send: (g: Grant) => Promise<Response> }> = [
    { name: 'a body over max_size', status: 400, send: (g) => postToS3(g, 'x'.repeat(1025)) },
    { name: 'a body over a declared size', status: 400, send: async () => postToS3(await grantFor(app, { filename: 'small.txt', size: 10 }), 'x'.repeat(11)) },
    { name: 'an empty body', status: 400, send: (g) => postToS3(g, '') },
    { name: 'another Content-Type', status: 403, send: (g) => postToS3(g, 'hello', { fields: { 'Content-Type': 'text/html' } }) },
    { name: 'another key', status: 403, send: (g) => postToS3(g, 'hello', { fields: { key: g.key.replace(/[0-9a-f]{12}\.txt$/, '000000000000.txt') } }) },
    { name: 'a missing x-amz-meta-uploaded-by', status: 403, send: (g) => postToS3(g, 'hello', { fields: { 'x-amz-meta-uploaded-by': undefined } }) },
    { name: 'an altered x-amz-meta-uploaded-by', status: 403, send: (g) => postToS3(g, 'hello', { fields: { 'x-amz-meta-uploaded-by': 'mallory' } }) },
    { name: 'an altered x-amz-meta-filename', status: 403, send: (g) => postToS3(g, 'hello', { fields: { 'x-amz-meta-filename': 'other.txt' } }) },
    { name: 'an extra metadata field', status: 403, send: (g) => postToS3(g, 'hello', { fields: { 'x-amz-meta-extra': 'sneaky' } }) },
    { name: 'a tampered signature', status: 403, send: (g) => postToS3(g, 'hello', { fields: { 'X-Amz-Signature': '0'.repeat(64) } }) },
  ]
  for (const { name, status, send } of cases) {
    const grant = await grantFor(app, { filename: 'hello.txt' })
    const res = await send(grant)
    await res.arrayBuffer()
    t.equal(res.status, status, `${name}: S3 answers ${status}`)
    const confirm = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(confirm.json().code, 'UPLOAD_NOT_FOUND', `${name}: nothing to confirm`)
  }
  t.same(await listKeys(s3, bucket), [], 'no object or record was written')

  // The control: the same grant, used as issued, works.
  const grant = await grantFor(app, { filename: 'hello.txt', metadata: { note: 'kept' } })
  t.equal((await postToS3(grant, 'hello')).status, 204)
  const confirm = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  t.equal(confirm.statusCode, 201)
  t.same(confirm.json().metadata, { note: 'kept' })
})

t.test('S3 refuses an expired policy', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { UPLOAD_URL_EXPIRES: '1s' })
  const grant = await grantFor(app, { filename: 'late.txt' })
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const res = await postToS3(grant, 'too late')
  await res.arrayBuffer()
  t.equal(res.status, 403)
  t.same(await listKeys(s3, bucket), [])
})
