// Confirm never races cleanup or loses a confirmed file: orphans past ORPHAN_TTL are refused, confirmed files always answer.
import t from 'tap'
import { createUploadService } from '../../src/uploads/upload-service.js'
import { buildTestApp } from '../helper.js'
import { fileTraces, uploadFile } from '../support/flow.js'

const HOUR = 3_600_000

t.test('past ORPHAN_TTL an unconfirmed upload is an orphan: confirm refuses it and writes nothing', async (t) => {
  const { app, config, s3, bucket } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false' })
  const service = (hoursLater: number) => createUploadService({ config, ...app.storage, now: () => Date.now() + hoursLater * HOUR })
  const orphan = await uploadFile(app, 'alice', 'uploaded, then forgotten for a day')
  const confirmedEarly = await uploadFile(app, 'alice', 'confirmed at once')
  t.equal((await service(0).confirmUpload('alice', confirmedEarly.key)).created, true)

  await t.rejects(service(25).confirmUpload('alice', orphan.key), { code: 'UPLOAD_NOT_FOUND' }, '25 h later (ORPHAN_TTL 24 h) the orphan cannot be confirmed')
  t.same(await fileTraces(s3, bucket, 'alice', orphan), { object: true, record: false, indexEntry: false }, 'no record or index entry was written; cleanup will delete the object')
  const again = await service(25).confirmUpload('alice', confirmedEarly.key)
  t.same({ created: again.created, id: again.record.id }, { created: false, id: confirmedEarly.file_id }, 'a file confirmed in time still answers 200 with its record')
  t.equal((await service(23).confirmUpload('alice', orphan.key)).created, true, 'before ORPHAN_TTL the same upload confirms')
})

t.test('a repeated confirm after the limits were tightened returns the record and never deletes the file', async (t) => {
  const { app, config, s3, bucket } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false' })
  const grant = await uploadFile(app, 'alice', 'a text file, allowed when it was confirmed')
  const loose = createUploadService({ config, ...app.storage })
  t.equal((await loose.confirmUpload('alice', grant.key)).created, true)

  const strict = createUploadService({ config: { ...config, uploads: { ...config.uploads, allowedContentTypes: ['image/*'], maxFileSize: 5 } }, ...app.storage })
  const again = await strict.confirmUpload('alice', grant.key)
  t.same({ created: again.created, id: again.record.id }, { created: false, id: grant.file_id }, 'the confirmed record is returned')
  t.same(await fileTraces(s3, bucket, 'alice', grant), { object: true, record: true, indexEntry: true }, 'object, record and index entry are untouched')

  const fresh = await uploadFile(app, 'alice', 'a text file, not allowed any more')
  await t.rejects(strict.confirmUpload('alice', fresh.key), { code: 'UPLOAD_REJECTED' }, 'an unconfirmed upload is still rejected')
  t.equal((await fileTraces(s3, bucket, 'alice', fresh)).object, false, 'and deleted')
})
