// Deletes under fire: concurrent DELETEs, DELETE racing confirm, and a DELETE cut short at each step, then repeated.
import t from 'tap'
import { INTERNAL_PREFIX, ownerIndexPrefix, recordKeyFor, createRecordStore } from '../../src/storage/record-store.js'
import { createUploadService } from '../../src/uploads/upload-service.js'
import { sweepOrphans } from '../../src/cleanup/orphan-sweeper.js'
import { bearer, buildTestApp, listKeys, type TestApp } from '../helper.js'
import { faultyStore, isOp } from '../support/faulty-store.js'
import { burialTraces, confirm, fileTraces, uploadFile } from '../support/flow.js'

const NO_LIMITS = { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'error' }

/** An upload service over the app's own bucket whose store calls the test can fail or hold. */
function serviceWithFaults (test: TestApp) {
  const faults = faultyStore(test.app.storage.objects)
  const service = createUploadService({ config: test.config, clients: test.app.storage.clients, objects: faults.store, records: createRecordStore(faults.store) })
  return { faults, service }
}

t.test('concurrent DELETEs of one file: each 204 or 404, and nothing is left', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, NO_LIMITS)
  const grant = await uploadFile(app, 'alice', 'deleted ten times at once')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)

  const statuses = await Promise.all(Array.from({ length: 10 }, async () =>
    (await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })).statusCode))
  t.ok(statuses.every((s) => s === 204 || s === 404), `every DELETE answered 204 or 404 (${statuses.join(' ')})`)
  t.ok(statuses.includes(204), 'at least one deleted it')
  t.match(await burialTraces(s3, bucket, grant.file_id), { tombstone: true, other: [] }, 'no object, record or index entry is left: only the tombstone and its notes')
})

t.test('DELETE racing confirms: no record without its object, and one more DELETE finishes the job', async (t) => {
  const { app, bucket, s3, config } = await buildTestApp(t, NO_LIMITS)
  for (let round = 0; round < 6; round++) {
    const grant = await uploadFile(app, 'alice', `round ${round}`)
    // Half the rounds start from a confirmed file, half from a bare upload.
    if (round % 2 === 0) t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
    const requests = [
      ...Array.from({ length: 4 }, () => ({ method: 'POST' as const, url: `/files/confirm/${grant.key}` })),
      ...Array.from({ length: 3 }, () => ({ method: 'DELETE' as const, url: `/files/${grant.file_id}` })),
      ...Array.from({ length: 4 }, () => ({ method: 'POST' as const, url: `/files/confirm/${grant.key}` })),
    ]
    const statuses = await Promise.all(requests.map(async (r) => (await app.inject({ ...r, headers: bearer('alice') })).statusCode))
    t.ok(statuses.every((s) => [200, 201, 204, 404].includes(s)), `round ${round}: only 200, 201, 204 and 404 (${statuses.join(' ')})`)

    const traces = await fileTraces(s3, bucket, 'alice', grant)
    const buried = (await burialTraces(s3, bucket, grant.file_id)).tombstone
    if (traces.record) t.ok(traces.object && traces.indexEntry, `round ${round}: a record left behind has its object and index entry`)
    // A confirm whose index write is slower than a whole DELETE can leave its entry beside the tombstone (never listed).
    else if (traces.indexEntry) t.ok(buried, `round ${round}: an index entry without a record is left only beside a tombstone`)
    const again = await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })
    t.equal(again.statusCode, traces.record ? 204 : 404, `round ${round}: a repeated DELETE deletes what is left, or finds nothing`)
    const after = await fileTraces(s3, bucket, 'alice', grant)
    t.notOk(after.record, `round ${round}: no record after it`)
    if (!traces.record) {
      // The object survives only when every DELETE came before the first record (404), and then it is an orphan for cleanup.
      t.equal(after.object, traces.object, `round ${round}: the object is as it was`)
    } else {
      t.notOk(after.object || after.indexEntry, `round ${round}: and no object or index entry`)
    }
  }
  // Once no confirm can be in flight, cleanup removes the orphans, the tombstones and any index entry beside them.
  const dayAfter = Date.now() + 86_400_000
  const summary = await sweepOrphans({
    objects: app.storage.objects, records: app.storage.records, sessions: app.multipartSessions, uploads: config.uploads, olderThanSeconds: 3600, lookbackSeconds: 86_400, now: () => dayAfter,
  })
  t.equal(summary.errors, 0)
  t.same(await listKeys(s3, bucket), [], 'cleanup a day later leaves nothing behind')
})

t.test('a DELETE between a confirm\'s checks and its writes: the confirm undoes its writes and answers 404', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const { faults, service } = serviceWithFaults(test)
  const grant = await uploadFile(test.app, 'alice', 'confirmed while being deleted')
  t.equal((await service.confirmUpload('alice', grant.key)).created, true, 'confirmed once')

  // A second confirm passes its checks, then stalls just before writing the index entry...
  const held = faults.holdOnce(isOp('put', ownerIndexPrefix('alice')))
  const late = service.confirmUpload('alice', grant.key)
  await held.reached
  // ...while the owner deletes the file completely.
  await service.deleteFile('alice', grant.file_id)
  // Everything but the late confirm's own copy, which it has made and not yet written into a record.
  t.match(await fileTraces(test.s3, test.bucket, 'alice', grant), { record: false, indexEntry: false }, 'the DELETE removed the record and index entry')
  t.notOk((await listKeys(test.s3, test.bucket)).includes(grant.key), 'and the upload')
  held.release()

  await t.rejects(late, { code: 'UPLOAD_NOT_FOUND' }, 'the late confirm finds the object gone')
  t.same(await fileTraces(test.s3, test.bucket, 'alice', grant), { object: false, record: false, indexEntry: false },
    'and left no record or index entry pointing at nothing, and removed its copy')
})

t.test('a DELETE cut short after any step leaves no record without its object, and the next DELETE finishes it', async (t) => {
  const test = await buildTestApp(t, NO_LIMITS)
  const { faults, service } = serviceWithFaults(test)
  // In the order a DELETE takes them: the record's index entry and burial note, the tombstone, the object last.
  const steps = [
    { name: 'deleting the index entry', match: () => isOp('delete', ownerIndexPrefix('alice')), recordLeft: true },
    { name: 'noting the burial', match: () => isOp('put', `${INTERNAL_PREFIX}burials/`), recordLeft: true },
    { name: 'burying the record', match: (id: string) => isOp('put', recordKeyFor(id)), recordLeft: true },
    { name: 'deleting the object', match: (key: string) => isOp('delete', key), recordLeft: false },
  ]
  for (const step of steps) {
    const grant = await uploadFile(test.app, 'alice', `cut short while ${step.name}`)
    await service.confirmUpload('alice', grant.key)
    faults.failOnce(step.match(step.name === 'deleting the object' ? grant.key : grant.file_id))
    await t.rejects(service.deleteFile('alice', grant.file_id), { code: 'STORAGE_UNAVAILABLE' }, `the DELETE fails while ${step.name}`)
    const traces = await fileTraces(test.s3, test.bucket, 'alice', grant)
    t.equal(traces.object, true, `${step.name}: the object is still there`)
    t.equal(traces.record, step.recordLeft, `${step.name}: the record is ${step.recordLeft ? 'still there, with its object' : 'buried already'}`)
    if (step.recordLeft) t.equal((await service.getFile('alice', grant.file_id)).id, grant.file_id, `${step.name}: the file is served, and its object exists`)
    else await t.rejects(service.getFile('alice', grant.file_id), { code: 'FILE_NOT_FOUND' }, `${step.name}: the file is not served any more`)
    await t.rejects(service.deleteFile('bob', grant.file_id), { code: 'FILE_NOT_FOUND' }, `${step.name}: another owner's DELETE finds nothing`)
    await service.deleteFile('alice', grant.file_id)
    t.same(await fileTraces(test.s3, test.bucket, 'alice', grant), { object: false, record: false, indexEntry: false }, `${step.name}: the repeated DELETE finished the job`)
    await t.rejects(service.getFile('alice', grant.file_id), { code: 'FILE_NOT_FOUND' })
    await t.rejects(service.deleteFile('alice', grant.file_id), { code: 'FILE_NOT_FOUND' }, `${step.name}: one more DELETE finds nothing`)
  }
})
