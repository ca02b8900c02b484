// Cleanup of multipart uploads on the real test S3: old unfinished uploads are aborted with their sessions, fresh ones and completed files stay.
import { randomBytes } from 'node:crypto'
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { sweepOrphans, type SweepOptions } from '../../src/cleanup/orphan-sweeper.js'
import { createMultipartService } from '../../src/multipart/multipart-service.js'
import { newFileId } from '../../src/uploads/file-id.js'
import { bearer, buildTestApp, type TestApp } from '../helper.js'
import { complete, createMultipart, multipartTraces, partBytes, putPart, s3Uploads, uploadIdOf, uploadParts, type Created } from '../support/multipart.js'

const DAY = 86_400_000
const MiB = 1024 * 1024
const ENV = { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '64MiB', MULTIPART_TTL: '2d' }

function sweep (test: TestApp, options: Partial<SweepOptions> & { daysAhead?: number } = {}) {
  const { daysAhead = 0, ...rest } = options
  const now = Date.now() + daysAhead * DAY
  return sweepOrphans({
    objects: test.app.storage.objects, records: test.app.storage.records, sessions: test.app.multipartSessions, uploads: test.config.uploads,
    olderThanSeconds: 86_400, lookbackSeconds: 30 * 86_400, now: () => now, ...rest,
  })
}

/** An upload created `daysAgo` days ago by filegate's clock (its session and id say so; S3 dates it now). */
async function createdDaysAgo (test: TestApp, daysAgo: number, content: Buffer): Promise<Created> {
  const service = createMultipartService({ config: test.config, ...test.app.storage, sessions: test.app.multipartSessions, now: () => Date.now() - daysAgo * DAY })
  const created = await service.create({ owner: 'alice', filename: `${daysAgo}-days-old.bin`, size: content.length })
  const [part] = (await service.signParts('alice', created.file_id, [{ number: 1 }])).parts
  if (part === undefined || (await putPart({ ...part, headers: { ...part.headers } }, partBytes(content, created.part_size, 1))).status !== 200) throw new Error('part 1 was not stored')
  return created
}

t.test('an unfinished upload older than MULTIPART_TTL is aborted with its session; a fresh one is left alone; --dry-run only counts', async (t) => {
  const test = await buildTestApp(t, ENV)
  const { app, s3, bucket } = test
  const content = randomBytes(9 * MiB)
  const old = await createdDaysAgo(test, 3, content)
  const fresh = await createMultipart(app, 'alice', { filename: 'fresh.bin', size: content.length })
  await uploadParts(app, 'alice', fresh, content, [1])
  const pending = { object: false, record: false, indexEntry: false, session: true, sessionIndexEntry: true, s3Upload: true }
  t.same((await app.inject({ method: 'GET', url: '/files/multipart', headers: bearer('alice') })).json<{ items: Array<{ file_id: string }> }>().items.map((i) => i.file_id),
    [fresh.file_id], 'the expired upload is no longer listed as unfinished')
  t.match(await complete(app, 'alice', old.file_id), { statusCode: 404 }, 'nor can it be completed (cleanup may be aborting it)')

  const dry = await sweep(test, { dryRun: true })
  t.match(dry, { dry_run: true, multipart_aborted: 1, errors: 0 }, 'a dry run counts the old upload')
  t.same(await multipartTraces(s3, bucket, old), pending, 'and aborts nothing')

  const real = await sweep(test)
  t.same({ ...real, dry_run: true }, dry, 'the real sweep reports the same counts')
  t.same(await multipartTraces(s3, bucket, old), { ...pending, session: false, sessionIndexEntry: false, s3Upload: false }, 'the old upload and its session are gone')
  t.same(await multipartTraces(s3, bucket, fresh), pending, 'the fresh one is untouched')
  await uploadParts(app, 'alice', fresh, content, [2])
  t.match(await complete(app, 'alice', fresh.file_id), { statusCode: 201 }, 'and completes')
})

t.test('an old S3 upload with no session (a create cut short) is aborted; uploads outside filegate\'s keys are left alone', async (t) => {
  const test = await buildTestApp(t, ENV)
  const { s3, bucket } = test
  const id = newFileId()
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/')
  const lost = `uploads/${day}/${id}.bin`
  const foreign = 'uploads/not-a-filegate-key.bin'
  for (const key of [lost, foreign]) await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))

  t.match(await sweep(test, { daysAhead: 1 }), { multipart_aborted: 0, errors: 0 }, 'a day later both are younger than MULTIPART_TTL')
  t.match(await sweep(test, { daysAhead: 3, dryRun: true }), { multipart_aborted: 1, errors: 0 }, 'three days later a dry run counts the lost one')
  t.same((await s3Uploads(s3, bucket)).sort(), [foreign, lost].sort(), 'and aborts nothing')
  t.match(await sweep(test, { daysAhead: 3 }), { multipart_aborted: 1, errors: 0 })
  t.same(await s3Uploads(s3, bucket), [foreign], 'only the upload outside filegate\'s keys is left')
})

t.test('the orphan sweep never deletes a completed multipart object whose session still stands (its record is being written)', async (t) => {
  const test = await buildTestApp(t, ENV)
  const { app, s3, bucket } = test
  const content = randomBytes(9 * MiB)
  const created = await createMultipart(app, 'alice', { filename: 'assembled.bin', size: content.length })
  await uploadParts(app, 'alice', created, content)
  // S3 assembles it, and filegate has not recorded it yet: a complete in flight, frozen here.
  const uploadId = await uploadIdOf(s3, bucket, created.file_id)
  const status = await app.inject({ method: 'GET', url: `/files/multipart/${created.file_id}`, headers: bearer('alice') })
  const parts = status.json<{ parts: Array<{ number: number, etag: string }> }>().parts
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: created.key, UploadId: uploadId, MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) } }))

  t.match(await sweep(test, { daysAhead: 1.5 }), { deleted: 0, kept: 1, multipart_aborted: 0, errors: 0 }, 'past ORPHAN_TTL, the unrecorded object is kept')
  t.same(await multipartTraces(s3, bucket, created), { object: true, record: false, indexEntry: false, session: true, sessionIndexEntry: true, s3Upload: false })
  t.match(await complete(app, 'alice', created.file_id), { statusCode: 201, body: { size: content.length } }, 'and the complete that resumes records it')
  t.match(await sweep(test, { daysAhead: 1.5 }), { deleted: 0, kept: 1, errors: 0 }, 'recorded, it is kept for good')
})
