// Sharing: a private file is 404 to everyone else, with or without a token; shared, its download URL needs no token; unshared, private again.
import t from 'tap'
import { recordKeyFor } from '../../src/storage/record-store.js'
import { bearer, buildTestApp, listKeys, postToS3, tokenFor, type TestApp } from '../helper.js'
import { liveKeys } from '../support/flow.js'

interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }
const MISSING_ID = '0190a0a0-0000-7000-8000-000000000000'

async function confirmedFile (test: TestApp, owner: string, body: string): Promise<Grant> {
  const grant = (await test.app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'shared.txt' } })).json<Grant>()
  if ((await postToS3(grant, body)).status !== 204) throw new Error('S3 refused the upload')
  const res = await test.app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })
  if (res.statusCode !== 201) throw new Error(`confirm answered ${res.statusCode}`)
  return grant
}

const download = async (test: TestApp, id: string, headers: Record<string, string> = {}, query = '') =>
  await test.app.inject({ method: 'GET', url: `/files/download/${id}${query}`, headers })

t.test('private, shared, private again', async (t) => {
  const test = await buildTestApp(t)
  const grant = await confirmedFile(test, 'alice', 'for alice, then for everyone')
  const id = grant.file_id
  const missing = await download(test, MISSING_ID)
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'FILE_NOT_FOUND')

  // Private: nobody but alice, and a private file looks exactly like a missing one.
  for (const [who, headers] of [['no token', {}], ['bob', bearer('bob')]] as const) {
    const res = await download(test, id, headers)
    t.equal(res.statusCode, 404, `private, ${who}: 404`)
    t.same(res.json(), missing.json(), `private, ${who}: exactly like a missing file`)
  }
  t.equal((await download(test, id, bearer('alice'))).statusCode, 200, 'the owner downloads it')

  const shared = await test.app.inject({ method: 'PATCH', url: `/files/${id}`, headers: bearer('alice'), payload: { is_public: true } })
  t.equal(shared.statusCode, 200, 'the owner shares it')
  t.equal(shared.json().is_public, true)
  t.equal((await test.app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer('alice') })).json().is_public, true, 'the record says so')

  const anonymous = await download(test, id)
  t.equal(anonymous.statusCode, 200, 'shared: no token needed')
  const bytes = await fetch(anonymous.json<{ download_url: string }>().download_url)
  t.equal(await bytes.text(), 'for alice, then for everyone', 'and the URL serves the file')
  const redirect = await download(test, id, {}, '?redirect=true')
  t.equal(redirect.statusCode, 302, 'redirect works without a token too')
  t.equal((await download(test, id, bearer('bob'))).statusCode, 200, 'another user may download a shared file too')

  // A sent token must still be good: a bad one is never quietly treated as no token.
  for (const authorization of ['Bearer not-a-jwt', `Bearer ${tokenFor('bob')}x`, 'Bearer ', '', 'Basic YWxpY2U6cGFzcw==']) {
    const res = await download(test, id, { authorization })
    t.equal(res.statusCode, 401, `a public download with Authorization ${JSON.stringify(authorization.slice(0, 12))}: 401`)
    t.equal(res.json().code, 'UNAUTHORIZED')
  }

  // Everything but the download stays the owner's.
  for (const [method, url, payload] of [['GET', `/files/${id}`, undefined], ['PATCH', `/files/${id}`, { is_public: false }], ['DELETE', `/files/${id}`, undefined]] as const) {
    const asBob = await test.app.inject({ method, url, headers: bearer('bob'), ...(payload !== undefined && { payload }) })
    t.equal(asBob.statusCode, 404, `bob: ${method} ${url} is 404 even though the file is shared`)
    const anonymous = await test.app.inject({ method, url, ...(payload !== undefined && { payload }) })
    t.equal(anonymous.statusCode, 401, `no token: ${method} ${url} is 401`)
  }
  t.same((await test.app.inject({ method: 'GET', url: '/files', headers: bearer('bob') })).json().items, [], 'a shared file is not in anyone else\'s list')

  const unshared = await test.app.inject({ method: 'PATCH', url: `/files/${id}`, headers: bearer('alice'), payload: { is_public: false } })
  t.equal(unshared.statusCode, 200)
  t.equal(unshared.json().is_public, false)
  for (const [who, headers] of [['no token', {}], ['bob', bearer('bob')]] as const) {
    const res = await download(test, id, headers)
    t.equal(res.statusCode, 404, `unshared, ${who}: 404 again`)
    t.same(res.json(), missing.json())
  }
  t.equal((await download(test, id, bearer('alice'))).statusCode, 200, 'the owner still downloads it')
})

t.test('PATCH validates its body and never creates or recreates a record', async (t) => {
  const test = await buildTestApp(t)
  // (The app coerces scalar types, so "true", 1 and null are read as booleans; anything else is refused.)
  for (const payload of [{}, { is_public: 'maybe' }, { is_public: true, key: 'x' }, [true], { is_public: { yes: true } }]) {
    const res = await test.app.inject({ method: 'PATCH', url: `/files/${MISSING_ID}`, headers: bearer('alice'), payload })
    t.equal(res.statusCode, 400, `${JSON.stringify(payload)}: 400`)
    t.equal(res.json().code, 'VALIDATION_ERROR')
  }
  const missing = await test.app.inject({ method: 'PATCH', url: `/files/${MISSING_ID}`, headers: bearer('alice'), payload: { is_public: true } })
  t.equal(missing.statusCode, 404, 'a missing file: 404')
  t.notOk((await listKeys(test.s3, test.bucket)).includes(recordKeyFor(MISSING_ID)), 'and no record appears')

  const grant = await confirmedFile(test, 'alice', 'soon gone')
  t.equal((await test.app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })).statusCode, 204)
  const afterDelete = await test.app.inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: bearer('alice'), payload: { is_public: true } })
  t.equal(afterDelete.statusCode, 404, 'a deleted file cannot be shared')
  t.same(await liveKeys(test.s3, test.bucket), [], 'and the bucket holds only its tombstone')
})

t.test('PATCH racing DELETE never leaves a record behind', async (t) => {
  const test = await buildTestApp(t)
  for (let round = 0; round < 6; round++) {
    const grant = await confirmedFile(test, 'alice', `round ${round}`)
    const patches = Array.from({ length: 4 }, (_, i) => test.app.inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: bearer('alice'), payload: { is_public: i % 2 === 0 } }))
    const deleted = test.app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })
    const statuses = (await Promise.all([...patches, deleted])).map((r) => r.statusCode)
    t.ok(statuses.every((s) => s === 200 || s === 204 || s === 404), `round ${round}: ${statuses.join(' ')}`)
    // A DELETE that lost the race to nothing is repeated, as a client would; then nothing may remain.
    await test.app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })
    t.notOk((await liveKeys(test.s3, test.bucket)).includes(recordKeyFor(grant.file_id)), `round ${round}: no record survives`)
  }
})
