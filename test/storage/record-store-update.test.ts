// RecordStore.update and burials: rewrites a record, never recreates one a DELETE buried meanwhile, and tombstones refuse creates, with If-Match (Ceph RGW) or without (s3rver).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { EMBEDDED_CREDENTIALS, startEmbeddedStore } from '../../src/storage/embedded-s3.js'
import { createRecordStore, recordKeyFor, RecordBuriedError } from '../../src/storage/record-store.js'
import { createObjectStore, createS3Clients, destroyS3Clients, type ObjectStore } from '../../src/storage/s3.js'
import type { FileRecord } from '../../src/schemas/file-record.js'
import { createTestBucket, listKeys, s3ClientFor, testS3 } from '../helper.js'

const ID = '0190a0a0-0000-7000-8000-00000000abcd'
const record: FileRecord = {
  id: ID, key: `uploads/2024/06/25/${ID}.txt`, filename: 'a.txt', content_type: 'text/plain', size: 1, etag: 'e',
  uploaded_by: 'alice', is_public: false, metadata: {}, created_at: '2024-06-25T00:00:00.000Z',
}

interface Store { readonly name: string, readonly open: (t: Test) => Promise<{ objects: ObjectStore, keys: () => Promise<string[]> }> }

const stores: Store[] = [
  {
    name: 'Ceph RGW (If-Match on PUT)',
    async open (t) {
      const s3 = testS3()
      const client = s3ClientFor(s3)
      t.teardown(() => client.destroy())
      const bucket = await createTestBucket(t, client)
      const clients = createS3Clients(loadConfig({ S3_BUCKET: bucket, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }, { requireJwtKey: false }).s3)
      t.teardown(() => destroyS3Clients(clients))
      return { objects: createObjectStore(clients), keys: async () => await listKeys(client, bucket) }
    },
  },
  {
    name: 's3rver (no conditional writes)',
    async open (t) {
      const directory = await mkdtemp(join(tmpdir(), 'filegate-update-'))
      const store = await startEmbeddedStore({ bucket: 'embedded', port: 0, directory, corsOrigins: [] })
      t.teardown(async () => { await store.close(); await rm(directory, { recursive: true, force: true }) })
      const clients = createS3Clients(loadConfig({ S3_BUCKET: 'embedded', S3_ENDPOINT: store.endpoint, S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: EMBEDDED_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMBEDDED_CREDENTIALS.secretAccessKey }, { requireJwtKey: false }).s3)
      t.teardown(() => destroyS3Clients(clients))
      const client = s3ClientFor({ endpoint: store.endpoint, region: 'us-east-1', ...EMBEDDED_CREDENTIALS })
      t.teardown(() => client.destroy())
      return { objects: createObjectStore(clients), keys: async () => await listKeys(client, 'embedded') }
    },
  },
]

for (const store of stores) {
  t.test(store.name, async (t) => {
    const { objects, keys } = await store.open(t)
    const records = createRecordStore(objects)
    await objects.put(record.key, 'x', { contentType: 'text/plain' })
    t.equal((await records.create(record)).created, true)

    t.test('an update rewrites the record; declining or a no-op writes nothing', async (t) => {
      const updated = await records.update(ID, (r) => ({ ...r, is_public: true }))
      t.equal(updated?.is_public, true)
      t.equal((await records.get(ID))?.is_public, true, 'stored')
      t.equal(await records.update(ID, () => undefined), undefined, 'declined: undefined')
      const before = await objects.getTextAndEtag(recordKeyFor(ID))
      t.same(await records.update(ID, (r) => ({ ...r })), await records.get(ID), 'a no-op returns the record')
      t.equal((await objects.getTextAndEtag(recordKeyFor(ID)))?.etag, before?.etag, 'without writing it')
      t.equal(await records.update('0190a0a0-0000-7000-8000-00000000ffff', (r) => r), undefined, 'a missing record: undefined')
    })

    t.test('a DELETE between the read and the write: the record is not brought back', async (t) => {
      // The file is deleted the way deleteFile does it (the record buried, then the object) right after update has read the record.
      let deleted = false
      const racing: ObjectStore = {
        ...objects,
        async getTextAndEtag (key) {
          const read = await objects.getTextAndEtag(key)
          if (!deleted) {
            deleted = true
            await records.bury(record)
            await objects.delete(record.key)
          }
          return read
        },
      }
      const racingRecords = createRecordStore(racing)
      t.equal(await racingRecords.update(ID, (r) => ({ ...r, is_public: false })), undefined, 'the update reports the file gone')
      t.ok(deleted, 'the DELETE ran in between')
      const left = await keys()
      t.equal(await records.get(ID), undefined, 'no record was recreated')
      t.match(await objects.getText(recordKeyFor(ID)), /"deleted_at"/, 'the tombstone stands')
      t.same(left.filter((k) => !k.startsWith('_filegate/probes/') && !k.startsWith('_filegate/burials/')), [recordKeyFor(ID)], 'nothing else is left but burial notes')
    })

    t.test('a buried record reads as none, refuses a create and an update, and cleanup removes only tombstones', async (t) => {
      t.equal(await records.get(ID), undefined, 'get: none')
      t.equal(await records.exists(ID), false, 'exists: no')
      await t.rejects(records.create(record), RecordBuriedError, 'a create (a late confirm) is refused')
      t.equal(await records.update(ID, (r) => ({ ...r, is_public: true })), undefined, 'an update finds nothing to change')
      t.same((await records.listBurials(Date.now() - 3_600_000, { limit: 10, token: undefined })).burials, [], 'a burial younger than the cutoff is not due')
      const due = (await records.listBurials(Date.now() + 1000, { limit: 10, token: undefined })).burials
      t.ok(due.length >= 1 && due.every((b) => b.id === ID), `the burial is due once older than the cutoff (${due.length} notes)`)
      for (const burial of due) await records.removeTombstone(burial)
      t.same((await keys()).filter((k) => !k.startsWith('_filegate/probes/')), [], 'the tombstone and its notes are gone')

      // A note beside a live record (a DELETE cut short, then the file recorded again) never takes the record away.
      await objects.put(record.key, 'x', { contentType: 'text/plain' })
      t.equal((await records.create(record)).created, true, 'once removed, the id can be recorded again')
      await records.removeTombstone({ id: ID, noteKey: `_filegate/burials/000000000000001-${ID}` })
      t.same(await records.get(ID), record, 'removing a tombstone leaves a live record alone')
      await objects.delete(recordKeyFor(ID))
    })

    t.test('concurrent updates of one record all land on the newest version', async (t) => {
      // The tombstone goes, as cleanup removes it once it is old, and the file is recorded afresh.
      await objects.delete(recordKeyFor(ID))
      await objects.put(record.key, 'x', { contentType: 'text/plain' })
      await records.create({ ...record, metadata: {} })
      // Each update adds its own metadata entry: with lost updates, some entries would be missing.
      const names = Array.from({ length: 6 }, (_, i) => `k${i}`)
      await Promise.all(names.map(async (name) => await records.update(ID, (r) => ({ ...r, metadata: { ...r.metadata, [name]: 'v' } }))))
      const final = await records.get(ID)
      if (store.name.startsWith('s3rver')) {
        t.ok(final !== undefined, 's3rver cannot order writes: the record survives, some entries may be lost')
      } else {
        t.same(Object.keys(final?.metadata ?? {}).sort(), names, 'with If-Match no update is lost')
      }
    })

    t.test('a DELETE whose burial lands between an update\'s read and write, and whose object goes after it: no record is left', async (t) => {
      await objects.delete(recordKeyFor(ID))
      await objects.put(record.key, 'x', { contentType: 'text/plain' })
      await records.create(record)
      // The DELETE buries the record right after the update read it, and deletes the object only once the update is done.
      let buried = false
      const racing: ObjectStore = {
        ...objects,
        async getTextAndEtag (key) {
          const read = await objects.getTextAndEtag(key)
          if (!buried) {
            buried = true
            await records.bury(record)
          }
          return read
        },
      }
      const racingRecords = createRecordStore(racing)
      const updated = await racingRecords.update(ID, (r) => ({ ...r, is_public: true }))
      t.ok(buried, 'the burial ran in between')
      if (!store.name.startsWith('s3rver')) t.equal(updated, undefined, 'with If-Match the update finds the record changed, then buried')
      await objects.delete(record.key)
      await racingRecords.settleBurial(record)
      t.equal(await records.get(ID), undefined, 'after the DELETE settles, no record points at the deleted object')
      t.match(await objects.getText(recordKeyFor(ID)), /"deleted_at"/, 'the tombstone stands')
    })
  })
}
