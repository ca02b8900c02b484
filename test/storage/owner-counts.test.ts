// MAX_FILES_PER_OWNER at O(1): exact under 50 concurrent confirms and racing DELETEs, and upload-url's S3 calls do not grow with the owner's files.
import { PutBucketAclCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { Pool } from 'undici'
import { repairOwnerCounts } from '../../src/cleanup/count-repair.js'
import { createOwnerCounts, ownerCountKeyFor } from '../../src/storage/owner-counts.js'
import { ownerIndexKeyFor, ownerIndexPrefix } from '../../src/storage/record-store.js'
import { newFileId } from '../../src/uploads/file-id.js'
import { bearer, buildTestApp, listKeys, readObject, testS3 } from '../helper.js'
import { uploadFile, type Grant } from '../support/flow.js'
import { metricsBase, scrape, sumOf } from '../support/prometheus.js'

const S3_CALLS = 'filegate_s3_request_duration_seconds_count'

/** Runs `task` over `items`, at most `limit` at a time. */
async function inParallel<T, R> (items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await task(items[i] as T)
    }
  }))
  return results
}

async function storedCount (s3: S3Client, bucket: string, owner: string): Promise<number> {
  const parsed: unknown = JSON.parse((await readObject(s3, bucket, ownerCountKeyFor(owner))).toString('utf8'))
  if (typeof parsed !== 'object' || parsed === null || !('files' in parsed) || typeof parsed.files !== 'number') throw new Error('no count')
  return parsed.files
}

const confirmAll = async (app: FastifyInstance, owner: string, grants: readonly Grant[]) =>
  await Promise.all(grants.map(async (g) => await app.inject({ method: 'POST', url: `/files/confirm/${g.key}`, headers: bearer(owner) })))

t.test('50 concurrent confirms at the cap record exactly the places left; racing DELETEs keep the count exact', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { MAX_FILES_PER_OWNER: '20', RATE_LIMIT_ENABLED: 'false' })
  const owner = 'crowd'
  const first = await inParallel(Array.from({ length: 10 }, (_, i) => i), 5, async (i) => await uploadFile(app, owner, `file ${i}`))
  t.same((await confirmAll(app, owner, first)).map((r) => r.statusCode), Array<number>(10).fill(201), 'ten files recorded')

  // Granted and uploaded while there is room (at the cap, upload-url refuses): 50 for the crowd, 10 for the race below.
  const uploads = await inParallel(Array.from({ length: 60 }, (_, i) => i), 10, async (i) => await uploadFile(app, owner, `crowd ${i}`))
  const crowd = uploads.slice(0, 50)
  const fresh = uploads.slice(50)
  const answers = await confirmAll(app, owner, crowd)
  const statuses = answers.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 201).length, 10, 'exactly the 10 places left were taken')
  t.equal(statuses.filter((s) => s === 422).length, 40, 'the other 40 were refused')
  t.ok(answers.filter((r) => r.statusCode === 422).every((r) => r.json<{ code: string }>().code === 'UPLOAD_REJECTED'), 'as UPLOAD_REJECTED')
  t.equal((await listKeys(s3, bucket, ownerIndexPrefix(owner))).length, 20, 'the owner has exactly 20 files')
  t.equal(await storedCount(s3, bucket, owner), 20, 'and the count says 20')
  const refused = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'one-more.txt' } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json<{ code: string }>().code, 'FILE_LIMIT_REACHED')
  const recorded = answers.flatMap((r, i) => r.statusCode === 201 ? [crowd[i] as Grant] : [])
  t.same((await confirmAll(app, owner, recorded.slice(0, 3))).map((r) => r.statusCode), [200, 200, 200], 'a repeated confirm at the cap answers the same record')
  t.equal(await storedCount(s3, bucket, owner), 20, 'and counts nothing')

  // 5 DELETEs (each sent twice at once) race 10 new confirms: however they interleave, the count stays exact and within the cap.
  const doomed = first.slice(0, 5)
  // The confirms start as the first DELETE answers, so that they overlap the others.
  let firstAnswer: () => void = () => undefined
  const firstDeleted = new Promise<void>((resolve) => { firstAnswer = resolve })
  const [deletes, confirms] = await Promise.all([
    Promise.all([...doomed, ...doomed].map(async (g) => {
      const res = await app.inject({ method: 'DELETE', url: `/files/${g.file_id}`, headers: bearer(owner) })
      firstAnswer()
      return res
    })),
    firstDeleted.then(async () => await confirmAll(app, owner, fresh)),
  ])
  t.ok(deletes.every((r) => r.statusCode === 204 || r.statusCode === 404), 'the DELETEs answered 204 (or 404 for the twin that came second)')
  t.ok(deletes.filter((r) => r.statusCode === 204).length >= 5, 'each file was deleted')
  const created = confirms.filter((r) => r.statusCode === 201).length
  const files = (await listKeys(s3, bucket, ownerIndexPrefix(owner))).length
  t.comment(`${created} of 10 racing confirms recorded; the owner has ${files} files`)
  t.ok(files <= 20, `never over the cap (${files})`)
  t.ok(created >= 1, 'a place freed by a DELETE was taken')
  t.equal(files, 15 + created, 'every confirm that answered 201 is a file, and no other')
  t.equal(confirms.filter((r) => r.statusCode === 422).length, 10 - created, 'the others were refused')
  t.equal(await storedCount(s3, bucket, owner), files, 'the count equals the files')
  t.equal(await createOwnerCounts({ objects: app.storage.objects, records: app.storage.records }).recount(owner, 0), 'kept', 'a recount finds nothing to repair')

  // A count left too high (a crash between taking a place and recording) is repaired by the recount once it is quiet.
  const wrong = (at: number) => new PutObjectCommand({ Bucket: bucket, Key: ownerCountKeyFor(owner), Body: JSON.stringify({ files: files + 1, deleted: [], updated_at: new Date(at).toISOString() }), ContentType: 'application/json' })
  await s3.send(wrong(Date.now()))
  t.same(await repairOwnerCounts({ objects: app.storage.objects, records: app.storage.records, quietMs: 60_000 }), { checked: 1, repaired: 0, busy: 1, errors: 0 }, 'a count changed a moment ago is left alone')
  await s3.send(wrong(Date.now() - 120_000))
  t.same(await repairOwnerCounts({ objects: app.storage.objects, records: app.storage.records, quietMs: 60_000 }), { checked: 1, repaired: 1, busy: 0, errors: 0 }, 'a quiet one is recounted')
  t.equal(await storedCount(s3, bucket, owner), files, 'and says the truth again')
})

t.test('upload-url costs the same S3 calls for an owner with 10 files and with 20,000', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { MAX_FILES_PER_OWNER: '100000', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const metrics = metricsBase(app)
  // The index entries are written straight into the bucket (empty objects, as confirm writes them): unsigned PUTs over
  // 32 kept-alive connections while the test's own bucket is writable to all, four times faster than signed SDK calls.
  const started = performance.now()
  await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read-write' }))
  const pool = new Pool(testS3().endpoint, { connections: 32 })
  try {
    const seed = async (owner: string, files: number) => await inParallel(Array.from({ length: files }, () => newFileId()), 32, async (id) => {
      const res = await pool.request({ method: 'PUT', path: `/${bucket}/${ownerIndexKeyFor(owner, id).split('/').map(encodeURIComponent).join('/')}`, body: '' })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`seeding the index: S3 answered ${res.statusCode}`)
    })
    await seed('few', 10)
    await seed('many', 20_000)
  } finally {
    await pool.close()
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'private' }))
  }
  t.comment(`20,010 index entries written in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const callsPerGrant = async (owner: string, grants: number): Promise<number> => {
    const before = await scrape(metrics)
    for (let i = 0; i < grants; i++) {
      const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'a.txt' } })
      if (res.statusCode !== 200) throw new Error(`upload-url answered ${res.statusCode}`)
    }
    return (sumOf(await scrape(metrics), S3_CALLS) - sumOf(before, S3_CALLS)) / grants
  }
  // With no count yet, a grant lists the index (as before counts) and the first confirm builds the count from it: how
  // files recorded before counts existed are taken over, once per owner.
  const firstMany = await callsPerGrant('many', 1)
  t.ok(firstMany >= 20, `a grant for the 20,000-file owner without a count lists the index (${firstMany} S3 calls)`)
  for (const owner of ['few', 'many']) {
    const grant = await uploadFile(app, owner, `one more for ${owner}`)
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })).statusCode, 201)
  }
  t.equal(await storedCount(s3, bucket, 'many'), 20_001, 'the first confirm built the count: 20,001')
  t.equal(await storedCount(s3, bucket, 'few'), 11)

  const few = await callsPerGrant('few', 5)
  const many = await callsPerGrant('many', 5)
  t.comment(`S3 calls per upload-url: ${few} with 11 files, ${many} with 20,001`)
  t.equal(few, 1, 'one S3 call (the count) per grant with 11 files')
  t.equal(many, few, 'and the same with 20,001')
})
