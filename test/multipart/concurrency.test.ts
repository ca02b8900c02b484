// Complete under concurrency on the real test S3: 20 at once give one record; a complete racing an abort leaves a file or nothing, never half.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { bearer, buildTestApp, listKeys } from '../helper.js'
import { complete, createMultipart, multipartTraces, uploadParts } from '../support/multipart.js'

const MiB = 1024 * 1024
const NO_LIMITS = { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '64MiB' }

t.test('20 concurrent completes: one 201, nineteen 200 with the same record, one record and one index entry', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, NO_LIMITS)
  const content = randomBytes(9 * MiB)
  const created = await createMultipart(app, 'alice', { filename: 'twenty.bin', size: content.length })
  await uploadParts(app, 'alice', created, content)

  const answers = await Promise.all(Array.from({ length: 20 }, async () => await complete(app, 'alice', created.file_id)))
  const statuses = answers.map((a) => a.statusCode)
  t.equal(statuses.filter((s) => s === 201).length, 1, `one complete created the record (${statuses.join(' ')})`)
  t.equal(statuses.filter((s) => s === 200).length, 19, 'every other one answered 200')
  const first = answers.find((a) => a.statusCode === 201)?.body
  t.ok(answers.every((a) => JSON.stringify(a.body) === JSON.stringify(first)), 'all with the very record created')
  t.same(await listKeys(s3, bucket, '_filegate/records/'), [`_filegate/records/${created.file_id}.json`], 'one record')
  t.equal((await listKeys(s3, bucket, '_filegate/owners/')).length, 1, 'one index entry')
  t.same(await multipartTraces(s3, bucket, created), { object: true, record: true, indexEntry: true, session: false, sessionIndexEntry: false, s3Upload: false })
})

t.test('a complete racing an abort: either the file is recorded whole or nothing is left, at every timing tried', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, NO_LIMITS)
  const outcomes: string[] = []
  // The abort starts at different moments of the complete: before it, with it, and as it lists, completes and records.
  for (const delayMs of [0, 0, 5, 15, 30, 60, 120]) {
    const content = randomBytes(9 * MiB)
    const created = await createMultipart(app, 'alice', { filename: `race-${delayMs}.bin`, size: content.length })
    await uploadParts(app, 'alice', created, content)
    const [completed, aborted] = await Promise.all([
      complete(app, 'alice', created.file_id),
      new Promise((resolve) => setTimeout(resolve, delayMs)).then(async () => await app.inject({ method: 'DELETE', url: `/files/multipart/${created.file_id}`, headers: bearer('alice') })),
    ])
    const traces = await multipartTraces(s3, bucket, created)
    const recorded = { object: true, record: true, indexEntry: true, session: false, sessionIndexEntry: false, s3Upload: false }
    const nothing = { object: false, record: false, indexEntry: false, session: false, sessionIndexEntry: false, s3Upload: false }
    const whole = JSON.stringify(traces) === JSON.stringify(recorded)
    t.ok(whole || JSON.stringify(traces) === JSON.stringify(nothing), `after ${delayMs} ms: complete ${completed.statusCode}, abort ${aborted.statusCode}: ${JSON.stringify(traces)}`)
    if (whole) {
      t.equal(completed.statusCode, 201, 'a recorded file was answered 201')
      t.equal(aborted.statusCode, 409, 'and the abort 409 UPLOAD_COMPLETED')
      t.equal(aborted.json<{ code: string }>().code, 'UPLOAD_COMPLETED')
    } else {
      t.equal(aborted.statusCode, 204, 'an aborted upload was answered 204')
      t.ok([404, 409].includes(completed.statusCode), `and the complete 404 or 409 UPLOAD_BUSY (${completed.statusCode} ${String(completed.body.code)})`)
    }
    outcomes.push(whole ? 'recorded' : 'aborted')
  }
  t.comment(`outcomes: ${outcomes.join(', ')}`)
})
