// Multipart limits on the real test S3: S3 refuses parts unlike their signed length or MD5; filegate refuses parts beyond the file and parts that do not add up.
import { randomBytes } from 'node:crypto'
import { UploadPartCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { bearer, buildTestApp } from '../helper.js'
import { complete, createMultipart, md5Base64, multipartTraces, partBytes, putPart, signParts, uploadIdOf, uploadParts } from '../support/multipart.js'

const MiB = 1024 * 1024
const NO_LIMITS = { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '64MiB' }

t.test('S3 refuses a part larger or smaller than its signed length, and bytes other than its signed MD5', async (t) => {
  const { app } = await buildTestApp(t, NO_LIMITS)
  const content = randomBytes(9 * MiB)
  const created = await createMultipart(app, 'alice', { filename: 'video.bin', size: content.length })
  const first = partBytes(content, created.part_size, 1)
  const [plain] = await signParts(app, 'alice', created.file_id, [{ number: 1 }])
  if (plain === undefined) throw new Error('no URL')
  t.equal(plain.size, 8 * MiB, 'the part URL is for exactly 8 MiB')
  t.equal((await putPart(plain, Buffer.concat([first, Buffer.from('x')]))).status, 403, 'one byte more is refused')
  t.equal((await putPart(plain, first.subarray(1))).status, 403, 'one byte less is refused')

  const [checked] = await signParts(app, 'alice', created.file_id, [{ number: 1, md5: md5Base64(first) }])
  if (checked === undefined) throw new Error('no URL')
  t.same(checked.headers, { 'content-md5': md5Base64(first) }, 'the client is told to send the Content-MD5 it signed')
  const tampered = Buffer.from(first)
  tampered[12345] = (tampered[12345] ?? 0) ^ 1
  const refused = await putPart(checked, tampered)
  t.equal(refused.status, 400, 'the right length with one bit flipped is refused')
  t.match(refused.text, /BadDigest/, 'as BadDigest')
  t.equal((await putPart(checked, first)).status, 200, 'the signed bytes are taken')
})

t.test('filegate signs no part outside 1..part_count', async (t) => {
  const { app } = await buildTestApp(t, NO_LIMITS)
  const created = await createMultipart(app, 'alice', { filename: 'two-parts.bin', size: 9 * MiB })
  const ask = async (parts: unknown) => await app.inject({ method: 'POST', url: `/files/multipart/${created.file_id}/parts`, headers: bearer('alice'), payload: { parts } })
  const beyond = await ask([{ number: 2 }, { number: 3 }])
  t.equal(beyond.statusCode, 400)
  t.match(beyond.json(), { code: 'VALIDATION_ERROR', message: 'part 3 is outside 1..2: the upload has 2 parts' })
  for (const parts of [[{ number: 0 }], [{ number: 10001 }], [{ number: 1.5 }], [], Array.from({ length: 101 }, (_, i) => ({ number: i + 1 })), [{ number: 1 }, { number: 1 }], [{ number: 1, md5: 'not base64 md5' }]]) {
    const res = await ask(parts)
    t.equal(res.statusCode, 400, `refused: ${JSON.stringify(parts).slice(0, 60)}`)
    t.equal(res.json<{ code: string }>().code, 'VALIDATION_ERROR')
  }
  t.equal((await ask([{ number: 2 }])).statusCode, 200, 'the last part is signed')
})

t.test('parts that do not add up to the declared size: complete answers 422, aborts the upload and records nothing', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, NO_LIMITS)
  const content = randomBytes(9 * MiB)
  const created = await createMultipart(app, 'alice', { filename: 'short.bin', size: content.length })
  await uploadParts(app, 'alice', created, content, [2])
  // A store that ignored the signed length: part 1 arrives 1 MiB short, sent around filegate with S3's own keys.
  const short = partBytes(content, created.part_size, 1).subarray(MiB)
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: created.key, UploadId: await uploadIdOf(s3, bucket, created.file_id), PartNumber: 1, Body: short, ContentLength: short.length }))

  const done = await complete(app, 'alice', created.file_id)
  t.equal(done.statusCode, 422)
  t.match(done.body, { code: 'UPLOAD_REJECTED', message: `The upload was rejected and deleted: part 1 is ${7 * MiB} bytes, not ${8 * MiB}, so the parts do not add up to ${9 * MiB} bytes; the upload was aborted` })
  t.same(await multipartTraces(s3, bucket, created), { object: false, record: false, indexEntry: false, session: false, sessionIndexEntry: false, s3Upload: false },
    'no object, no upload, no record, no session')
  t.match(await complete(app, 'alice', created.file_id), { statusCode: 404 }, 'a retry finds nothing')
})
