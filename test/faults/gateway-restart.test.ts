// The S3 gateway killed and restarted between upload and confirm, and between confirm's two writes: nothing confirmed is lost.
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createRecordStore, ownerIndexPrefix, recordKeyFor } from '../../src/storage/record-store.js'
import { createUploadService } from '../../src/uploads/upload-service.js'
import { bearer, createTestBucket, listKeys, s3ClientFor, TEST_JWT_SECRET } from '../helper.js'
import { faultyStore, isOp } from '../support/faulty-store.js'
import { confirm, fileTraces, uploadFile } from '../support/flow.js'
import { startOwnRgw } from '../support/own-rgw.js'

t.test('gateway crashes around confirm', async (t) => {
  const rgw = await startOwnRgw(t)
  const s3 = s3ClientFor(rgw)
  t.teardown(() => s3.destroy())
  const bucket = await createTestBucket(t, s3)
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_ENDPOINT: rgw.endpoint, S3_REGION: rgw.region, S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, S3_BUCKET: bucket, S3_TIMEOUT_MS: '3000',
    JWT_SECRET: TEST_JWT_SECRET, RATE_LIMIT_ENABLED: 'false',
  })
  const app = await buildApp(config)
  t.teardown(() => app.close())
  await app.ready()

  const listed = async () => (await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ id: string }> }>().items.map((i) => i.id).sort()
  const downloads = async (id: string) => {
    const grant = (await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer('alice') })).json<{ download_url: string }>()
    return await (await fetch(grant.download_url)).text()
  }

  const early = await uploadFile(app, 'alice', 'confirmed before any crash')
  t.equal((await confirm(app, 'alice', early.key)).statusCode, 201)

  await t.test('killed and restarted between upload and confirm', async (t) => {
    const grant = await uploadFile(app, 'alice', 'uploaded, then the gateway died')
    await rgw.killGateway()
    const refused = await confirm(app, 'alice', grant.key)
    t.equal(refused.statusCode, 503, 'the confirm while the gateway is down answers 503')
    t.equal(refused.body.code, 'STORAGE_UNAVAILABLE')
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the process stays healthy')

    const started = performance.now()
    await rgw.restartGateway()
    t.comment(`gateway restarted in ${Math.round(performance.now() - started)} ms`)
    t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201, 'the next confirm succeeds')
    t.same(await listed(), [early.file_id, grant.file_id].sort(), 'the file is listed, and so is the one confirmed before')
    t.equal(await downloads(early.file_id), 'confirmed before any crash', 'the earlier file downloads intact')
    t.equal(await downloads(grant.file_id), 'uploaded, then the gateway died')
  })

  await t.test('killed after the index write, before the record write', async (t) => {
    const faults = faultyStore(app.storage.objects)
    const service = createUploadService({ config, clients: app.storage.clients, objects: faults.store, records: createRecordStore(faults.store) })
    // A first confirm through this service runs its one-off probe of conditional writes, so the next goes straight to the writes.
    const warmUp = await uploadFile(app, 'alice', 'confirmed through the faulty store')
    t.equal((await service.confirmUpload('alice', warmUp.key)).created, true)
    const grant = await uploadFile(app, 'alice', 'half confirmed when the gateway died')
    // The two writes go out together; the record's is held until the index entry is written and the gateway is dead.
    const held = faults.holdOnce(isOp('put', recordKeyFor(grant.file_id)))
    faults.afterOnce(isOp('put', ownerIndexPrefix('alice')), async () => {
      await rgw.killGateway()
      held.release()
    })
    await t.rejects(service.confirmUpload('alice', grant.key), { code: 'STORAGE_UNAVAILABLE' }, 'the confirm fails half-way')
    t.ok(faults.calls.some((c) => c.op === 'put' && c.key === recordKeyFor(grant.file_id)), 'it did try to write the record')
    await rgw.restartGateway()

    t.same(await fileTraces(s3, bucket, 'alice', grant), { object: true, record: false, indexEntry: true }, 'an index entry without a record is all it left')
    const before = await listed()
    t.notOk(before.includes(grant.file_id), 'which is not listed')
    t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201, 'the next confirm succeeds')
    t.same(await listed(), [...before, grant.file_id].sort(), 'the file is listed, and nothing else changed')
    t.equal((await listKeys(s3, bucket, ownerIndexPrefix('alice'))).length, before.length + 1, 'with one index entry')
    t.equal(await downloads(grant.file_id), 'half confirmed when the gateway died')
  })

  await t.test('each of the two writes failing once', async (t) => {
    for (const [what, match] of [['index', ownerIndexPrefix('alice')], ['record', '_filegate/records/']] as const) {
      const faults = faultyStore(app.storage.objects)
      const service = createUploadService({ config, clients: app.storage.clients, objects: faults.store, records: createRecordStore(faults.store) })
      const grant = await uploadFile(app, 'alice', `the ${what} write failed once`)
      faults.failOnce(isOp('put', match))
      await t.rejects(service.confirmUpload('alice', grant.key), { code: 'STORAGE_UNAVAILABLE' }, `the ${what} write fails`)
      // The two writes go out together: when the index entry's fails, the record's has landed, unlisted until a retry.
      const recorded = what === 'index'
      t.equal((await fileTraces(s3, bucket, 'alice', grant)).record, recorded, recorded ? 'the record is there' : 'no record yet')
      t.notOk((await listed()).includes(grant.file_id), 'the file is not listed yet')
      t.equal((await confirm(app, 'alice', grant.key)).statusCode, recorded ? 200 : 201, 'the next confirm succeeds')
      t.ok((await listed()).includes(grant.file_id), 'and the file is listed')
    }
  })

  t.ok((await listed()).includes(early.file_id), 'the file confirmed first survived every crash')
})
