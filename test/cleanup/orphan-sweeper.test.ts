// The orphan sweeper against the real test S3: what it deletes, what it never touches, what it lists, and its races.
import { PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { sweepOrphans, type SweepOptions } from '../../src/cleanup/orphan-sweeper.js'
import { createSessionStore } from '../../src/multipart/session-store.js'
import { createRecordStore, ownerIndexKeyFor, ownerIndexPrefix, recordKeyFor } from '../../src/storage/record-store.js'
import { newFileId } from '../../src/uploads/file-id.js'
import { createUploadService } from '../../src/uploads/upload-service.js'
import { bearer, buildTestApp, listKeys, postToS3, type TestApp } from '../helper.js'
import { faultyStore, isOp } from '../support/faulty-store.js'
import { burialTraces, confirm, fileTraces, uploadFile } from '../support/flow.js'

const DAY = 86_400_000
const NO_LIMITS = { RATE_LIMIT_ENABLED: 'false' }

/** A sweep of the app's bucket through a store that records its calls; `days` ahead shifts the sweeper's clock. */
function sweeper (test: TestApp) {
  const faults = faultyStore(test.app.storage.objects)
  const records = createRecordStore(faults.store)
  const sessions = createSessionStore(faults.store)
  const sweep = async (options: Partial<SweepOptions> & { daysAhead?: number } = {}) => {
    const { daysAhead = 0, ...rest } = options
    const now = Date.now() + daysAhead * DAY
    return await sweepOrphans({
      objects: faults.store, records, sessions, uploads: test.config.uploads, olderThanSeconds: 86_400, lookbackSeconds: 30 * 86_400, now: () => now, ...rest,
    })
  }
  return { faults, sweep }
}

/** `yyyy/mm/dd` of a UTC time, written out here rather than taken from the code under test. */
function day (time: number): string {
  const d = new Date(time)
  return `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`
}

t.test('date layout: orphans past the age go, fresh uploads and confirmed files stay, and only the window is listed', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const { app, s3, bucket } = test
  const confirmed = await uploadFile(app, 'alice', 'confirmed, so never touched')
  t.equal((await confirm(app, 'alice', confirmed.key)).statusCode, 201)
  const orphan = await uploadFile(app, 'bob', 'never confirmed')
  // Objects under other days, written straight to S3: one inside the window, one before it, one after it.
  const put = async (time: number) => {
    const key = `uploads/${day(time)}/${newFileId(time)}.txt`
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }))
    return key
  }
  const now = Date.now()
  const insideWindow = await put(now - 20 * DAY)
  const beforeWindow = await put(now - 40 * DAY)
  const afterWindow = await put(now + 2 * DAY)

  const { faults, sweep } = sweeper(test)
  // Now, with an age of 30 minutes: every upload is younger, so nothing goes, even where its day is listed.
  const fresh = await sweep({ olderThanSeconds: 1800 })
  t.ok(fresh.scanned >= 1, `the old day inside the window was listed (${fresh.scanned} scanned)`)
  t.match(fresh, { deleted: 0, kept: fresh.scanned, errors: 0 }, 'a real sweep deletes no fresh upload')
  const keys = new Set(await listKeys(s3, bucket))
  t.ok(keys.has(orphan.key) && keys.has(insideWindow), 'the fresh unconfirmed uploads are there')

  // Two days later (the sweeper's clock), with ORPHAN_TTL 24 h and a 30-day look-back.
  const later = now + 2 * DAY
  const before = (await listKeys(s3, bucket)).sort()
  faults.calls.length = 0
  const dry = await sweep({ daysAhead: 2, dryRun: true })
  t.match(dry, { dry_run: true, scanned: 3, deleted: 2, kept: 0, staging_removed: 1, copies_removed: 0, errors: 0 },
    'a dry run counts the orphan, the old object inside the window, and the confirmed file\'s spent upload (it is served from its copy)')
  t.same((await listKeys(s3, bucket)).sort(), before, 'and deletes nothing')

  const listed = faults.calls.filter((c) => c.op === 'list' && c.key.startsWith('uploads/')).map((c) => c.key)
  const expected: string[] = []
  for (let d = Math.floor((later - DAY - 30 * DAY) / DAY) * DAY; d <= later - DAY; d += DAY) expected.push(`uploads/${day(d)}/`)
  t.same(listed, expected, `one list call per day from ${day(later - 31 * DAY)} to ${day(later - DAY)}, and no other`)
  t.notOk(listed.includes(`uploads/${day(now - 40 * DAY)}/`), 'the day before the window is not listed')
  t.notOk(listed.includes(`uploads/${day(now + 2 * DAY)}/`), 'nor the day after it')

  const real = await sweep({ daysAhead: 2 })
  t.same({ ...real, dry_run: true }, dry, 'the real sweep reports the same counts as the dry run')
  const after = new Set(await listKeys(s3, bucket))
  t.notOk(after.has(orphan.key), 'the orphan is deleted')
  t.notOk(after.has(insideWindow), 'so is the old object inside the window')
  t.ok(after.has(beforeWindow) && after.has(afterWindow), 'objects outside the window are untouched')
  t.same(await fileTraces(s3, bucket, 'alice', confirmed), { object: true, record: true, indexEntry: true }, 'the confirmed file keeps object, record and index entry')
  const list = (await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ id: string }> }>()
  t.same(list.items.map((i) => i.id), [confirmed.file_id], 'and is listed')
  const download = (await app.inject({ method: 'GET', url: `/files/download/${confirmed.file_id}`, headers: bearer('alice') })).json<{ download_url: string }>()
  t.equal(await (await fetch(download.download_url)).text(), 'confirmed, so never touched', 'and downloads intact')
})

t.test('owner layout: the upload prefix is listed page by page', async (t) => {
  const test = await buildTestApp(t, { ...NO_LIMITS, UPLOAD_KEY_LAYOUT: 'owner' })
  const confirmed = await uploadFile(test.app, 'alice', 'kept')
  t.equal((await confirm(test.app, 'alice', confirmed.key)).statusCode, 201)
  for (const owner of ['alice', 'bob', 'bob', 'carol', 'carol']) await uploadFile(test.app, owner, `orphan of ${owner}`)

  const { faults, sweep } = sweeper(test)
  const summary = await sweep({ daysAhead: 2, pageSize: 2 })
  t.match(summary, { days: null, scanned: 6, deleted: 5, kept: 0, staging_removed: 1, errors: 0 })
  t.same(faults.calls.filter((c) => c.op === 'list' && c.key.startsWith('uploads/')).map((c) => c.key), ['uploads/', 'uploads/', 'uploads/'], 'three pages of two under the prefix')
  t.same(await listKeys(test.s3, test.bucket, 'uploads/'), [], 'no upload is left: the confirmed one was spent')
  t.same(await fileTraces(test.s3, test.bucket, 'alice', confirmed), { object: true, record: true, indexEntry: true }, 'the confirmed file keeps its copy, record and index entry')
})

t.test('a confirm cut short between its writes leaves an index entry that the sweep removes with the orphan', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const faults = faultyStore(test.app.storage.objects)
  const service = createUploadService({ config: test.config, clients: test.app.storage.clients, objects: faults.store, records: createRecordStore(faults.store) })
  const grant = await uploadFile(test.app, 'alice', 'half confirmed, then abandoned')
  faults.failOnce(isOp('put', '_filegate/records/'))
  await t.rejects(service.confirmUpload('alice', grant.key), { code: 'STORAGE_UNAVAILABLE' })
  t.same(await fileTraces(test.s3, test.bucket, 'alice', grant), { object: true, record: false, indexEntry: true }, 'an index entry without a record')

  const { sweep } = sweeper(test)
  t.match(await sweep({ daysAhead: 2 }), { deleted: 1, errors: 0 })
  t.same(await fileTraces(test.s3, test.bucket, 'alice', grant), { object: false, record: false, indexEntry: false }, 'the orphan and its index entry are gone')
})

t.test('a sweep with a short --older-than racing a confirm leaves the confirmed file whole (it serves its copy)', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const grant = await uploadFile(test.app, 'alice', 'confirmed while being swept')
  const { faults, sweep } = sweeper(test)
  // The sweep decides the upload is an orphan, and stalls just before deleting it...
  const held = faults.holdOnce(isOp('delete', grant.key))
  const sweeping = sweep({ daysAhead: 1 / 24, olderThanSeconds: 1800 })
  await held.reached
  // ...while its owner confirms it, which ORPHAN_TTL (24 h) still allows.
  t.equal((await confirm(test.app, 'alice', grant.key)).statusCode, 201)
  held.release()
  const summary = await sweeping
  t.match(summary, { deleted: 0, staging_removed: 1, errors: 0 }, 'the sweep counts the upload as spent')
  t.same(await fileTraces(test.s3, test.bucket, 'alice', grant), { object: true, record: true, indexEntry: true }, 'and the file keeps its copy, record and index entry')
  t.notOk((await listKeys(test.s3, test.bucket, 'uploads/')).includes(grant.key), 'the upload itself is gone')
  const download = (await test.app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer('alice') })).json<{ download_url: string }>()
  t.equal(await (await fetch(download.download_url)).text(), 'confirmed while being swept', 'the file downloads intact')
  t.same((await test.app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ id: string }> }>().items.map((i) => i.id), [grant.file_id], 'and is listed')
})

t.test('tombstones of deleted files go once older than the orphan age, with any index entry a late confirm left', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const { app, s3, bucket } = test
  const files = []
  for (const body of ['deleted first', 'deleted second', 'kept']) {
    const grant = await uploadFile(app, 'alice', body)
    t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
    files.push(grant)
  }
  const [first, second, kept] = files
  if (first === undefined || second === undefined || kept === undefined) throw new Error('three files')
  for (const file of [first, second]) t.equal((await app.inject({ method: 'DELETE', url: `/files/${file.file_id}`, headers: bearer('alice') })).statusCode, 204)
  // A confirm that lost its race with the DELETE by a whole DELETE's length can leave an index entry beside the tombstone.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: ownerIndexKeyFor('alice', second.file_id), Body: '' }))
  t.same((await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ id: string }> }>().items.map((i) => i.id),
    [kept.file_id], 'such an entry is never listed')
  // Its grant still valid, the owner uploads the deleted file's bytes again: the tombstone refuses the confirm.
  t.equal((await postToS3(first, 'uploaded again after the DELETE')).status, 204)
  t.equal((await confirm(app, 'alice', first.key)).statusCode, 404, 'a deleted file cannot be confirmed again while its tombstone stands')
  t.same(await fileTraces(s3, bucket, 'alice', first), { object: true, record: false, indexEntry: false }, 'the upload is left as an orphan, and the confirm took its index entry back')

  const { sweep } = sweeper(test)
  t.match(await sweep(), { tombstones_removed: 0, errors: 0 }, 'today\'s tombstones stay: a confirm may still be in flight')
  t.match(await burialTraces(s3, bucket, first.file_id), { tombstone: true, notes: 1 })
  const before = (await listKeys(s3, bucket)).sort()
  t.match(await sweep({ daysAhead: 2, dryRun: true }), { deleted: 1, tombstones_removed: 2, errors: 0 }, 'a dry run two days later counts both, and the orphan')
  t.same((await listKeys(s3, bucket)).sort(), before, 'and removes nothing')
  t.match(await sweep({ daysAhead: 2 }), { deleted: 1, tombstones_removed: 2, errors: 0 }, 'the real sweep removes them')
  const keptRecord = (await app.inject({ method: 'GET', url: `/files/${kept.file_id}`, headers: bearer('alice') })).json<{ served_key: string }>()
  t.same((await listKeys(s3, bucket)).sort(), [keptRecord.served_key, recordKeyFor(kept.file_id), ownerIndexKeyFor('alice', kept.file_id)].sort(),
    'leaving the kept file\'s copy, record and index entry, and nothing of the deleted ones (nor the kept one\'s spent upload)')
  t.same(await fileTraces(s3, bucket, 'alice', kept), { object: true, record: true, indexEntry: true })
})

t.test('the sweeper refuses an age not longer than UPLOAD_URL_EXPIRES', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const { sweep } = sweeper(test)
  await t.rejects(sweep({ olderThanSeconds: test.config.uploads.urlExpiresSeconds }), RangeError)
  await t.rejects(sweep({ olderThanSeconds: 60 }), /longer than UPLOAD_URL_EXPIRES/)
  t.ok(ownerIndexKeyFor('alice', newFileId()).startsWith(ownerIndexPrefix('alice')))
})
