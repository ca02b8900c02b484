// Create-once records: 50 concurrent confirms of one key end with one record and one index entry, and agree on the answer.
import t from 'tap'
import { bearer, buildTestApp, listKeys } from '../helper.js'
import { uploadFile } from '../support/flow.js'

t.test('50 concurrent confirms of one key: one 201, 49 times 200, one record, one index entry', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false' })
  const grant = await uploadFile(app, 'alice', 'confirmed fifty times at once')

  const responses = await Promise.all(Array.from({ length: 50 }, async () =>
    await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })))
  const statuses = responses.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 201).length, 1, 'exactly one confirm created the record')
  t.equal(statuses.filter((s) => s === 200).length, 49, 'every other confirm answered 200')
  const bodies = responses.map((r) => r.json<{ id: string }>())
  t.same([...new Set(bodies.map((b) => b.id))], [grant.file_id], 'every answer names the same id')
  const created = responses.find((r) => r.statusCode === 201)?.json()
  t.ok(bodies.every((b) => JSON.stringify(b) === JSON.stringify(created)), 'and carries the very record that was created')

  t.same(await listKeys(s3, bucket, '_filegate/records/'), [`_filegate/records/${grant.file_id}.json`], 'one record in the bucket')
  const index = await listKeys(s3, bucket, '_filegate/owners/')
  t.equal(index.length, 1, 'one owner index entry')
  t.match(index[0], new RegExp(`-${grant.file_id}$`))
  const list = (await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ id: string }> }>()
  t.same(list.items.map((i) => i.id), [grant.file_id], 'the file is listed once')
})
