// Golden tests of the fast presigner: byte-identical to createPresignedPost and getSignedUrl, and accepted by the real test S3.
import { createHash, randomBytes } from 'node:crypto'
import { CreateMultipartUploadCommand, GetObjectCommand, ListPartsCommand, S3Client, UploadPartCommand, type S3ClientConfig } from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { createPresigner, type GetInput, type PostInput, type UploadPartInput } from '../../src/storage/presigner.js'
import { createS3Clients, destroyS3Clients } from '../../src/storage/s3.js'
import { contentDisposition } from '../../src/uploads/content-disposition.js'
import { encodeHeaderValue } from '../../src/uploads/header-safe.js'
import { encodeOwner } from '../../src/uploads/owner-encoding.js'
import { createTestBucket, postToS3, s3ClientFor, testS3 } from '../helper.js'

const STATIC = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const SESSION = { ...STATIC, sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/=' }

/** The SDK's options as filegate builds its clients (src/storage/s3.ts). */
const clientFor = (t: Test, options: S3ClientConfig): S3Client => {
  const client = new S3Client({ region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...options })
  t.teardown(() => client.destroy())
  return client
}

/** Freezes Date.now (which createPresignedPost and the fast path read) until the test ends or `thaw` is called. */
function freezeClock (t: Test, at: number): { set: (ms: number) => void, thaw: () => void } {
  const realNow = Date.now
  let now = at
  Date.now = () => now
  const thaw = () => { Date.now = realNow }
  t.teardown(thaw)
  return { set: (ms) => { now = ms }, thaw }
}

const OWNERS = ['alice', 'Ünïcödé user@example.com', 'auth0|5f7c8ec7c33c6c004bbafe82']
const FILENAMES = ['report.pdf', 'Quarterly report (final) "v2".pdf', 'résumé 履歴書.docx', 'a+b=c&d;e,f%20g\\h.txt', `${'報'.repeat(80)}.png`]
const TYPES = ['application/pdf', 'text/plain', 'image/png', 'application/octet-stream', 'text/csv; charset=utf-8']

/** Inputs shaped like filegate's own: date- and owner-layout keys, encoded metadata, caller metadata. */
function postInputs (): PostInput[] {
  return FILENAMES.flatMap((filename, i) => {
    const owner = OWNERS[i % OWNERS.length] ?? 'alice'
    const id = `0193a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '0')}`
    const fields: Record<string, string> = {
      'Content-Type': TYPES[i % TYPES.length] ?? 'text/plain',
      'x-amz-meta-uploaded-by': encodeHeaderValue(owner),
      'x-amz-meta-filename': encodeHeaderValue(filename),
    }
    if (i % 2 === 0) fields['x-amz-meta-project'] = encodeHeaderValue(`q${i} "quoted" ✓`)
    return [
      { key: `uploads/2026/11/25/${id}.pdf`, fields, contentLength: [1, 10 * 1024 * 1024] as const, expiresSeconds: 900 },
      { key: `files/${encodeOwner(owner)}/${id}`, fields, contentLength: [1, 1 + i] as const, expiresSeconds: 7 * 24 * 3600 },
    ]
  })
}

function getInputs (): GetInput[] {
  return FILENAMES.flatMap((filename, i) => [
    { key: `uploads/2026/11/25/0193a1b2-c3d4-7e5f-8a9b-00000000000${i}.txt`, responseContentDisposition: contentDisposition('attachment', filename), responseContentType: TYPES[i % TYPES.length], expiresSeconds: 300 },
    { key: `files/${encodeOwner(OWNERS[i % OWNERS.length] ?? 'x')}/odd key ~!*'()+ é/${i}`, responseContentDisposition: contentDisposition('inline', filename), responseContentType: 'image/png', expiresSeconds: 604800 },
    { key: `uploads/${i}.bin`, expiresSeconds: 1 },
  ])
}

/** UploadPart URLs: with and without a signed MD5, odd keys and upload ids with characters that need escaping. */
function partInputs (): UploadPartInput[] {
  return [
    { key: 'uploads/2026/11/25/0193a1b2-c3d4-7e5f-8a9b-000000000001.mp4', uploadId: '2~kJ9x-Qw3rT_yU8iO0pLaSdFgHjKlZxCv', partNumber: 1, contentLength: 8 * 1024 * 1024, expiresSeconds: 900 },
    { key: 'uploads/2026/11/25/0193a1b2-c3d4-7e5f-8a9b-000000000002.bin', uploadId: 'VXBsb2FkSUQ+/=', partNumber: 10000, contentLength: 1, contentMd5: 'XrY7u+Ae7tCTyyK7j1rNww==', expiresSeconds: 604800 },
    { key: `files/${encodeOwner('Ünïcödé user@example.com')}/odd key ~!*'()+ é/3`, uploadId: 'u', partNumber: 37, contentLength: 5 * 1024 ** 3, contentMd5: '1B2M2Y8AsgTpgAmY7PhCfg==', expiresSeconds: 1 },
  ]
}

async function sdkPart (client: S3Client, bucket: string, input: UploadPartInput) {
  return await getSignedUrl(client, new UploadPartCommand({
    Bucket: bucket, Key: input.key, UploadId: input.uploadId, PartNumber: input.partNumber, ContentLength: input.contentLength, ContentMD5: input.contentMd5,
  }), { expiresIn: input.expiresSeconds, signingDate: new Date(Date.now()) })
}

async function sdkPost (client: S3Client, bucket: string, input: PostInput) {
  return await createPresignedPost(client, {
    Bucket: bucket, Key: input.key, Conditions: [['content-length-range', input.contentLength[0], input.contentLength[1]]], Fields: { ...input.fields }, Expires: input.expiresSeconds,
  })
}

async function sdkGet (client: S3Client, bucket: string, input: GetInput) {
  return await getSignedUrl(client, new GetObjectCommand({
    Bucket: bucket, Key: input.key, ResponseContentDisposition: input.responseContentDisposition, ResponseContentType: input.responseContentType,
  }), { expiresIn: input.expiresSeconds, signingDate: new Date(Date.now()) })
}

/** Every input, compared as JSON text (field order included) and as URL text. */
async function expectIdentical (t: Test, client: S3Client, bucket: string, label: string): Promise<void> {
  const presigner = createPresigner(client, bucket)
  let posts = 0
  for (const input of postInputs()) {
    const expected = JSON.stringify(await sdkPost(client, bucket, input))
    const actual = JSON.stringify(await presigner.presignPost(input))
    if (actual !== expected) t.equal(actual, expected, `${label}: POST grant for ${input.key}`)
    else posts++
  }
  t.equal(posts, postInputs().length, `${label}: every POST grant (fields in order, policy, signature, URL) is identical`)
  let gets = 0
  for (const input of getInputs()) {
    const expected = await sdkGet(client, bucket, input)
    const actual = await presigner.presignGet(input)
    if (actual !== expected) t.equal(actual, expected, `${label}: GET URL for ${input.key}`)
    else gets++
  }
  t.equal(gets, getInputs().length, `${label}: every GET URL is identical`)
  let parts = 0
  for (const input of partInputs()) {
    const expected = await sdkPart(client, bucket, input)
    const actual = await presigner.presignUploadPart(input)
    if (actual !== expected) t.equal(actual, expected, `${label}: UploadPart URL for part ${input.partNumber} of ${input.key}`)
    else parts++
  }
  t.equal(parts, partInputs().length, `${label}: every UploadPart URL is identical`)
}

t.test('byte-identical to the SDK presigners for a frozen clock', async (t) => {
  freezeClock(t, Date.UTC(2026, 10, 25, 13, 37, 42, 512))
  const cases: Array<[string, S3ClientConfig, string]> = [
    ['path-style on a custom endpoint', { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: STATIC }, 'filegate'],
    ['path-style with a session token', { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: SESSION }, 'filegate'],
    ['virtual-hosted on a custom endpoint', { endpoint: 'https://s3.example.com', forcePathStyle: false, credentials: STATIC }, 'my-bucket'],
    ['virtual-hosted on AWS with a session token, another region', { region: 'eu-central-1', credentials: SESSION }, 'my-bucket'],
    ['a bucket name with dots on AWS (path-style by the SDK\'s rules)', { region: 'ap-southeast-2', credentials: STATIC }, 'my.dotted.bucket'],
    ['a non-default port, virtual-hosted', { endpoint: 'http://minio.internal:9000', credentials: STATIC }, 'uploads-bucket'],
  ]
  for (const [label, options, bucket] of cases) await expectIdentical(t, clientFor(t, options), bucket, label)
})

t.test('the clients filegate builds, with S3_PUBLIC_ENDPOINT, are signed identically', async (t) => {
  freezeClock(t, Date.UTC(2027, 0, 1, 0, 0, 0, 1))
  const cases: Array<[Record<string, string>, string]> = [
    [{ S3_FORCE_PATH_STYLE: 'true' }, 'http://minio:9000/filegate/k'],
    [{ S3_FORCE_PATH_STYLE: 'false', S3_PUBLIC_ENDPOINT: 'https://files.example.com' }, 'https://filegate.files.example.com/k'],
    [{ S3_FORCE_PATH_STYLE: 'true', S3_PUBLIC_ENDPOINT: 'http://localhost:9000', AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEJr+token/==' }, 'http://localhost:9000/filegate/k'],
  ]
  for (const [env, where] of cases) {
    const config = loadConfig({ NODE_ENV: 'test', S3_ENDPOINT: 'http://minio:9000', AWS_ACCESS_KEY_ID: STATIC.accessKeyId, AWS_SECRET_ACCESS_KEY: STATIC.secretAccessKey, ...env }, { requireJwtKey: false })
    const clients = createS3Clients(config.s3)
    t.teardown(() => destroyS3Clients(clients))
    await expectIdentical(t, clients.public, config.s3.bucket, JSON.stringify(env))
    const url = await createPresigner(clients.public, config.s3.bucket).presignGet({ key: 'k', expiresSeconds: 60 })
    t.equal(url.slice(0, url.indexOf('?')), where, `${JSON.stringify(env)}: the URL names the host browsers use`)
  }
})

t.test('a key ending in ${filename} (a starts-with condition) is left to the SDK, with the same result', async (t) => {
  freezeClock(t, Date.UTC(2026, 10, 25, 8, 0, 0, 0))
  const client = clientFor(t, { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: STATIC })
  const input: PostInput = { key: 'uploads/${filename}', fields: { 'Content-Type': 'text/plain' }, contentLength: [1, 10], expiresSeconds: 60 }
  const grant = await createPresigner(client, 'filegate').presignPost(input)
  t.equal(JSON.stringify(grant), JSON.stringify(await sdkPost(client, 'filegate', input)))
  t.match(Buffer.from(grant.fields.Policy ?? '', 'base64').toString(), /\["starts-with","\$key","uploads\/"\]/)
})

t.test('a new signing key at midnight UTC, and only then', async (t) => {
  const clock = freezeClock(t, Date.UTC(2026, 11, 31, 23, 59, 59, 999))
  const client = clientFor(t, { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: STATIC })
  const presigner = createPresigner(client, 'filegate')
  const [post] = postInputs()
  const [get] = getInputs()
  if (post === undefined || get === undefined) throw new Error('no inputs')
  const before = await presigner.presignPost(post)
  t.equal(JSON.stringify(before), JSON.stringify(await sdkPost(client, 'filegate', post)), 'the last second of the year')
  t.match(before.fields['X-Amz-Credential'], /\/20261231\//)
  t.equal(await presigner.presignGet(get), await sdkGet(client, 'filegate', get))

  clock.set(Date.UTC(2027, 0, 1, 0, 0, 0, 0))
  const after = await presigner.presignPost(post)
  t.equal(JSON.stringify(after), JSON.stringify(await sdkPost(client, 'filegate', post)), 'the first second of the next year')
  t.match(after.fields['X-Amz-Credential'], /\/20270101\//, 'the credential scope moved to the new day')
  t.equal(await presigner.presignGet(get), await sdkGet(client, 'filegate', get), 'and the GET URL is signed with the new day\'s key')
})

t.test('rotated credentials and session tokens are picked up from the client\'s provider', async (t) => {
  const clock = freezeClock(t, Date.UTC(2026, 5, 1, 12, 0, 0, 0))
  let current: { accessKeyId: string, secretAccessKey: string, sessionToken?: string, expiration: Date } = { ...SESSION, expiration: new Date(Date.now() + 60_000) }
  let calls = 0
  // Expiring credentials, as an STS or IMDS provider hands out: the SDK's memoized provider refreshes them.
  const client = clientFor(t, { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: async () => { calls++; return current } })
  const presigner = createPresigner(client, 'filegate')
  const [post] = postInputs()
  const [get] = getInputs()
  if (post === undefined || get === undefined) throw new Error('no inputs')

  const first = await presigner.presignPost(post)
  t.equal(JSON.stringify(first), JSON.stringify(await sdkPost(client, 'filegate', post)))
  t.equal(first.fields['X-Amz-Security-Token'], SESSION.sessionToken)

  current = { accessKeyId: 'AKIDROTATED', secretAccessKey: 'another/secret+key', sessionToken: 'rotated-token', expiration: new Date(Date.now() + 60_000) }
  clock.set(Date.UTC(2026, 5, 1, 12, 0, 1, 0))
  const rotated = await presigner.presignPost(post)
  t.equal(JSON.stringify(rotated), JSON.stringify(await sdkPost(client, 'filegate', post)), 'identical to the SDK after the rotation')
  t.equal(rotated.fields['X-Amz-Security-Token'], 'rotated-token', 'the new session token is signed')
  t.match(rotated.fields['X-Amz-Credential'], /^AKIDROTATED\//)
  const url = await presigner.presignGet(get)
  t.equal(url, await sdkGet(client, 'filegate', get))
  t.match(url, /X-Amz-Security-Token=rotated-token&/)

  current = { accessKeyId: 'AKIDROTATED', secretAccessKey: 'another/secret+key', expiration: new Date(Date.now() + 60_000) }
  const tokenless = await presigner.presignGet(get)
  t.equal(tokenless, await sdkGet(client, 'filegate', get), 'credentials that lose their session token are signed without one')
  t.notMatch(tokenless, /X-Amz-Security-Token/)
  t.ok(calls >= 4, `the provider was asked again on each signature (${calls} calls)`)
})

t.test('no credentials is STORAGE_UNAVAILABLE, not a bare error', async (t) => {
  const client = clientFor(t, { endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, credentials: async () => { throw new Error('no credentials anywhere') } })
  const presigner = createPresigner(client, 'filegate')
  const [post] = postInputs()
  const [get] = getInputs()
  const [part] = partInputs()
  if (post === undefined || get === undefined || part === undefined) throw new Error('no inputs')
  await t.rejects(presigner.presignPost(post), { code: 'STORAGE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(presigner.presignGet(get), { code: 'STORAGE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(presigner.presignUploadPart(part), { code: 'STORAGE_UNAVAILABLE', statusCode: 503 })
})

t.test('the real test S3 accepts the fast path\'s grants and URLs', async (t) => {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const config = loadConfig({
    NODE_ENV: 'test', S3_ENDPOINT: store.endpoint, S3_REGION: store.region, S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey, S3_BUCKET: bucket,
    S3_PUBLIC_ENDPOINT: store.endpoint.replace('127.0.0.1', 'localhost'),
  }, { requireJwtKey: false })
  const clients = createS3Clients(config.s3)
  t.teardown(() => destroyS3Clients(clients))
  for (const [label, client] of [['internal endpoint', clients.internal], ['public endpoint', clients.public]] as const) {
    const presigner = createPresigner(client, bucket)
    const filename = 'Résumé "final" 履歴書.txt'
    const key = `uploads/2026/11/25/${label.replace(' ', '-')}/0193a1b2-c3d4-7e5f-8a9b-000000000001.txt`
    const body = `hello from the ${label}`
    const grant = await presigner.presignPost({
      key,
      fields: { 'Content-Type': 'text/plain', 'x-amz-meta-uploaded-by': encodeHeaderValue('alice'), 'x-amz-meta-filename': encodeHeaderValue(filename) },
      contentLength: [1, body.length],
      expiresSeconds: 60,
    })
    t.equal((await postToS3(grant, body)).status, 204, `${label}: S3 accepts the POST grant`)
    const tooBig = await postToS3(grant, `${body}!`)
    await tooBig.arrayBuffer()
    t.equal(tooBig.status, 400, `${label}: and enforces its signed size limit`)

    const disposition = contentDisposition('attachment', filename)
    const url = await presigner.presignGet({ key, responseContentDisposition: disposition, responseContentType: 'text/plain; charset=utf-8', expiresSeconds: 60 })
    const res = await fetch(url)
    t.equal(res.status, 200, `${label}: S3 accepts the GET URL`)
    t.equal(await res.text(), body)
    t.equal(res.headers.get('content-disposition'), disposition, `${label}: with the signed Content-Disposition`)
    const tampered = await fetch(url.replace('response-content-type=text%2Fplain', 'response-content-type=text%2Fhtml'))
    await tampered.arrayBuffer()
    t.equal(tampered.status, 403, `${label}: a changed parameter breaks the signature`)
  }
})

t.test('the test S3 enforces an UploadPart URL\'s signed length and MD5', async (t) => {
  const store = testS3()
  const s3 = s3ClientFor(store)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const key = 'uploads/2026/11/25/0193a1b2-c3d4-7e5f-8a9b-00000000000a.bin'
  const { UploadId: uploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
  if (uploadId === undefined) throw new Error('no upload id')
  const presigner = createPresigner(s3, bucket)
  const body = randomBytes(64 * 1024)
  const md5 = createHash('md5').update(body).digest('base64')
  const put = async (url: string, bytes: Uint8Array, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes), headers })
    return { status: res.status, text: await res.text() }
  }

  const sized = await presigner.presignUploadPart({ key, uploadId, partNumber: 1, contentLength: body.length, expiresSeconds: 60 })
  t.match(sized, /X-Amz-SignedHeaders=content-length%3Bhost&/, 'the URL signs content-length')
  t.equal((await put(sized, Buffer.concat([body, Buffer.from('!')]))).status, 403, 'a larger body is refused (403)')
  t.equal((await put(sized, body.subarray(1))).status, 403, 'so is a smaller one')
  t.equal((await put(sized, body)).status, 200, 'the signed length is accepted')

  const checked = await presigner.presignUploadPart({ key, uploadId, partNumber: 2, contentLength: body.length, contentMd5: md5, expiresSeconds: 60 })
  t.match(checked, /X-Amz-SignedHeaders=content-length%3Bcontent-md5%3Bhost&/, 'the URL signs content-md5 too')
  const wrong = Buffer.from(body)
  wrong[100] = (wrong[100] ?? 0) ^ 0xff
  const forged = await put(checked, wrong, { 'content-md5': md5 })
  t.equal(forged.status, 400, 'the right length with other bytes is refused (400)')
  t.match(forged.text, /BadDigest/, 'as BadDigest')
  t.equal((await put(checked, body, { 'content-md5': createHash('md5').update(wrong).digest('base64') })).status, 403, 'another Content-MD5 than the signed one breaks the signature')
  t.equal((await put(checked, body)).status, 403, 'leaving out the signed Content-MD5 breaks it too')
  t.equal((await put(checked, body, { 'content-md5': md5 })).status, 200, 'the signed bytes are accepted')

  const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  t.same(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag?.replace(/"/g, '')]), [[1, body.length, createHash('md5').update(body).digest('hex')], [2, body.length, createHash('md5').update(body).digest('hex')]],
    'S3 holds exactly the two accepted parts')
})
