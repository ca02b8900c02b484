// Another user's multipart upload answers exactly like a missing one: they can neither sign, see, list, complete nor abort it.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { bearer, buildTestApp } from '../helper.js'
import { complete, createMultipart, multipartTraces, uploadParts } from '../support/multipart.js'

const MiB = 1024 * 1024

t.test('bob cannot touch alice\'s upload (404, as for a missing one), and alice completes it afterwards', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '64MiB' })
  const content = randomBytes(9 * MiB)
  const created = await createMultipart(app, 'alice', { filename: 'alice.bin', size: content.length })
  await uploadParts(app, 'alice', created, content)
  const unknown = '0193a1b2-c3d4-7e5f-8a9b-000000000000'

  for (const id of [created.file_id, unknown]) {
    const label = id === unknown ? 'an unknown upload' : 'alice\'s upload'
    const calls = [
      { method: 'POST' as const, url: `/files/multipart/${id}/parts`, payload: { parts: [{ number: 1 }] } },
      { method: 'GET' as const, url: `/files/multipart/${id}` },
      { method: 'POST' as const, url: `/files/multipart/${id}/complete` },
      { method: 'DELETE' as const, url: `/files/multipart/${id}` },
    ]
    for (const call of calls) {
      const res = await app.inject({ ...call, headers: bearer('bob') })
      t.equal(res.statusCode, 404, `bob: ${call.method} ${call.url.replace(id, '<id>')} on ${label}`)
      t.same(res.json(), { statusCode: 404, code: 'UPLOAD_NOT_FOUND', error: 'Not Found', message: 'No upload exists at this key' }, 'the very answer a missing upload gets')
    }
  }
  const bobs = await app.inject({ method: 'GET', url: '/files/multipart', headers: bearer('bob') })
  t.same(bobs.json<{ items: unknown[] }>().items, [], 'bob\'s list of unfinished uploads is empty')
  t.same(await multipartTraces(s3, bucket, created), { object: false, record: false, indexEntry: false, session: true, sessionIndexEntry: true, s3Upload: true }, 'alice\'s upload is untouched')

  t.match(await complete(app, 'alice', created.file_id), { statusCode: 201, body: { uploaded_by: 'alice' } }, 'alice completes it')
  t.equal((await app.inject({ method: 'GET', url: `/files/${created.file_id}`, headers: bearer('bob') })).statusCode, 404, 'and bob cannot see the file')
  t.equal((await complete(app, 'bob', created.file_id)).statusCode, 404, 'nor get its record by completing it again')
})
