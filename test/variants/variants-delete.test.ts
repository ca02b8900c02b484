// Deleting a file deletes its variants: the tombstone names them, so a DELETE cut short is finished by its retry or by cleanup, and one a variants job is still writing goes too.
import { PutObjectCommand } from '@aws-sdk/client-s3'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { sweepOrphans } from '../../src/cleanup/orphan-sweeper.js'
import { createSessionStore } from '../../src/multipart/session-store.js'
import { createRecordStore, recordKeyFor } from '../../src/storage/record-store.js'
import { createUploadService, type UploadService } from '../../src/uploads/upload-service.js'
import { variantKeyFor, variantsPrefixFor } from '../../src/variants/variant-spec.js'
import { bearer, buildTestApp, listKeys, postToS3, readObject, type TestApp } from '../helper.js'
import { faultyStore, isOp, type FaultyStore } from '../support/faulty-store.js'
import { photoWithGps } from '../support/images.js'

const ENV = { VARIANTS: 'thumb:64,preview:128', EVENTS_POLL_INTERVAL: '200ms', RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '4MiB' }
const DAY = 86_400_000

async function confirmedPhoto (app: FastifyInstance, owner: string): Promise<{ id: string, key: string }> {
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'holiday.jpg' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  if ((await postToS3(grant, await photoWithGps())).status !== 204) throw new Error('S3 refused the upload')
  const res = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })
  if (res.statusCode !== 201) throw new Error(`confirm answered ${res.statusCode}: ${res.body}`)
  return { id: grant.file_id, key: grant.key }
}

/** Polls the record until its variants are listed, within 30 s; their keys. */
async function variantsOf (app: FastifyInstance, owner: string, id: string): Promise<string[]> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const record = (await app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer(owner) })).json<{ variants?: Array<{ key: string }> }>()
    if (record.variants !== undefined) return record.variants.map((v) => v.key).sort()
    if (Date.now() > deadline) throw new Error('no variants within 30 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The upload service and record store of the app, over a store whose calls the test can fail. */
function faultyService (test: TestApp, config = test.config): { faults: FaultyStore, service: UploadService } {
  const faults = faultyStore(test.app.storage.objects)
  const records = createRecordStore(faults.store, test.app.storage.conditional)
  return { faults, service: createUploadService({ config, clients: test.app.storage.clients, objects: faults.store, records, events: test.app.events }) }
}

t.test('a DELETE cut short before its variants went is finished by its retry', async (t) => {
  const test = await buildTestApp(t, ENV)
  const { app, s3, bucket } = test
  const { id } = await confirmedPhoto(app, 'alice')
  const variants = await variantsOf(app, 'alice', id)
  t.same(variants, [variantKeyFor(id, 'preview'), variantKeyFor(id, 'thumb')], 'both variants made and listed')

  const { faults, service } = faultyService(test)
  faults.failOnce(isOp('delete', variantKeyFor(id, 'thumb')))
  await t.rejects(service.deleteFile('alice', id), 'the DELETE fails on the thumbnail')
  // The other deletes of the batch may still be in flight when the failure answers: only the thumbnail is sure to be left.
  t.ok((await listKeys(s3, bucket, variantsPrefixFor(id))).includes(variantKeyFor(id, 'thumb')), 'the thumbnail is left')
  const tombstone = JSON.parse((await readObject(s3, bucket, recordKeyFor(id))).toString('utf8')) as { variant_keys?: string[] }
  t.same(tombstone.variant_keys?.sort(), variants, 'the tombstone names the variants')
  t.equal((await app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer('alice') })).statusCode, 404, 'the file is gone for its owner')

  await service.deleteFile('alice', id)
  t.same(await listKeys(s3, bucket, variantsPrefixFor(id)), [], 'the retried DELETE removed the thumbnail')
  t.equal((await app.inject({ method: 'DELETE', url: `/files/${id}`, headers: bearer('alice') })).statusCode, 404, 'once nothing is left, a DELETE is 404')
})

t.test('a DELETE cut short and never repeated: cleanup removes the variants with the tombstone', async (t) => {
  const test = await buildTestApp(t, ENV)
  const { app, s3, bucket } = test
  const { id } = await confirmedPhoto(app, 'alice')
  await variantsOf(app, 'alice', id)
  const kept = await confirmedPhoto(app, 'bob')
  const keptVariants = await variantsOf(app, 'bob', kept.id)

  const { faults, service } = faultyService(test)
  faults.failOnce(isOp('delete', variantKeyFor(id, 'preview')))
  await t.rejects(service.deleteFile('alice', id))
  t.ok((await listKeys(s3, bucket, variantsPrefixFor(id))).includes(variantKeyFor(id, 'preview')), 'the preview is left')
  // A variants job that wrote a rendition as the file was deleted and died: its key is one no tombstone names.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${variantsPrefixFor(id)}old-name.webp`, Body: 'a rendition of a name VARIANTS no longer has' }))

  const records = createRecordStore(app.storage.objects, app.storage.conditional)
  const sweep = async (daysAhead: number) => await sweepOrphans({
    objects: app.storage.objects, records, sessions: createSessionStore(app.storage.objects), uploads: test.config.uploads,
    olderThanSeconds: 86_400, lookbackSeconds: 30 * 86_400, now: () => Date.now() + daysAhead * DAY,
  })
  const left = (await listKeys(s3, bucket, variantsPrefixFor(id))).length
  t.match(await sweep(0), { tombstones_removed: 0, leftovers_removed: 0, errors: 0 }, 'a young tombstone and its leftovers stay')
  t.equal((await listKeys(s3, bucket, variantsPrefixFor(id))).length, left)
  t.match(await sweep(2), { tombstones_removed: 1, leftovers_removed: left, errors: 0 }, `two days later: the tombstone and the ${left} leftovers`)
  t.same(await listKeys(s3, bucket, variantsPrefixFor(id)), [], 'no variant of the deleted file is left')
  t.same(await listKeys(s3, bucket, recordKeyFor(id)), [], 'nor its tombstone')
  t.same(await listKeys(s3, bucket, variantsPrefixFor(kept.id)), keptVariants, 'another file\'s variants are untouched')
  t.equal((await app.inject({ method: 'GET', url: `/files/download/${kept.id}?variant=thumb`, headers: bearer('bob') })).statusCode, 200)
})

t.test('a DELETE while a variants job has written a rendition but not yet listed it removes the rendition too', async (t) => {
  // The app makes no variants itself (no VARIANTS); the service under test has them configured, as the job's process would.
  const test = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '4MiB' })
  const { app, s3, bucket } = test
  const { id } = await confirmedPhoto(app, 'alice')
  const { service } = faultyService(test, { ...test.config, variants: { ...test.config.variants, specs: [{ name: 'thumb', size: 64 }] } })
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: variantKeyFor(id, 'thumb'), Body: 'rendered, not yet in the record' }))
  await service.deleteFile('alice', id)
  t.same(await listKeys(s3, bucket, variantsPrefixFor(id)), [], 'the rendition went with the file')
})
