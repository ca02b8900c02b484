// The S3-protocol routes Uppy's @uppy/aws-s3 calls: S3's XML answers, S3-style errors, and the same checks as the JSON routes.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { bearer, buildTestApp } from '../helper.js'
import { createMultipart, uploadParts } from '../support/multipart.js'

const MiB = 1024 * 1024

t.test('initiate, list parts and complete answer in S3\'s XML; failures are S3-style <Error>s with filegate\'s codes', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '64MiB' })
  const content = randomBytes(9 * MiB)
  const created = await createMultipart(app, 'alice', { filename: 'uppy.bin', size: content.length, content_type: 'application/octet-stream' })
  const base = `/files/multipart/${created.file_id}/s3`

  // As Uppy sends it: the file's type, no body.
  const initiate = await app.inject({ method: 'POST', url: `${base}/initiate`, headers: { ...bearer('alice'), 'content-type': 'application/octet-stream' } })
  t.equal(initiate.statusCode, 200)
  t.equal(initiate.headers['content-type'], 'application/xml', 'exactly application/xml, which Uppy checks for')
  t.equal(initiate.body, `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Key>${created.key}</Key><UploadId>${created.file_id}</UploadId></InitiateMultipartUploadResult>`)

  await uploadParts(app, 'alice', created, content, [2])
  const listed = await app.inject({ method: 'GET', url: `${base}/parts`, headers: bearer('alice') })
  t.match(listed.body, /<Part><PartNumber>2<\/PartNumber><Size>1048576<\/Size><ETag>&quot;[0-9a-f]{32}&quot;<\/ETag><\/Part><\/ListPartsResult>$/, 'the part S3 holds, with its ETag quoted as S3 does')

  const body = '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"forged"</ETag></Part></CompleteMultipartUpload>'
  const early = await app.inject({ method: 'POST', url: `${base}/complete`, headers: { ...bearer('alice'), 'content-type': 'application/xml' }, payload: body })
  t.equal(early.statusCode, 409)
  t.equal(early.headers['content-type'], 'application/xml')
  t.equal(early.body, '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>UPLOAD_INCOMPLETE</Code><Message>The upload is not complete: part 1 of 2 is missing; nothing was changed</Message></Error>',
    'the client\'s part list is not read: filegate lists the parts itself')

  await uploadParts(app, 'alice', created, content, [1])
  const done = await app.inject({ method: 'POST', url: `${base}/complete`, headers: { ...bearer('alice'), 'content-type': 'application/xml', host: 'files.example.com' }, payload: body })
  t.equal(done.statusCode, 200)
  t.match(done.body, new RegExp(`<Location>http://files.example.com/files/${created.file_id}</Location><Key>${created.key}</Key><ETag>&quot;[0-9a-f]{32}-2&quot;</ETag>`))
  const record = await app.inject({ method: 'GET', url: `/files/${created.file_id}`, headers: bearer('alice') })
  t.match(record.json(), { uploaded_by: 'alice', content_type: 'application/octet-stream', size: content.length }, 'the file is recorded with its owner')

  const missing = await app.inject({ method: 'GET', url: `${base}/parts`, headers: bearer('bob') })
  t.equal(missing.statusCode, 404)
  t.equal(missing.body, '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>UPLOAD_NOT_FOUND</Code><Message>No upload exists at this key</Message></Error>', 'another user gets a 404, as S3 XML')
  const unauthorized = await app.inject({ method: 'POST', url: `${base}/initiate` })
  t.equal(unauthorized.statusCode, 401)
  t.match(unauthorized.body, /<Code>UNAUTHORIZED<\/Code>/)
  const huge = await app.inject({ method: 'POST', url: `${base}/complete`, headers: { ...bearer('alice'), 'content-type': 'application/xml' }, payload: 'x'.repeat(3 * MiB) })
  t.equal(huge.statusCode, 413, 'a body over 2 MiB is refused')
  t.match(huge.body, /<Code>PAYLOAD_TOO_LARGE<\/Code>/)
})
