// Abuse limits: per-owner rate limits on upload-url and confirm (429 RATE_LIMITED with Retry-After), and MAX_FILES_PER_OWNER.
import { Compile } from 'typebox/compile'
import t from 'tap'
import { ErrorResponseSchema } from '../../src/schemas/error-response.js'
import { bearer, buildTestApp, listKeys, postToS3, type TestApp } from '../helper.js'

const isErrorResponse = Compile(ErrorResponseSchema)
interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }

const askGrant = async (test: TestApp, owner: string) =>
  await test.app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'n.txt' } })

async function uploaded (test: TestApp, owner: string): Promise<Grant> {
  const res = await askGrant(test, owner)
  if (res.statusCode !== 200) throw new Error(`upload-url answered ${res.statusCode}: ${res.body}`)
  const grant = res.json<Grant>()
  if ((await postToS3(grant, 'note')).status !== 204) throw new Error('S3 refused the upload')
  return grant
}

const confirm = async (test: TestApp, owner: string, key: string) =>
  await test.app.inject({ method: 'POST', url: `/files/confirm/${key}`, headers: bearer(owner) })

t.test('the request after the burst answers 429 with Retry-After; another owner is unaffected', async (t) => {
  const test = await buildTestApp(t, { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '1m' })
  for (let i = 1; i <= 3; i++) {
    const res = await askGrant(test, 'alice')
    t.equal(res.statusCode, 200, `request ${i} of 3: 200`)
    t.equal(res.headers['x-ratelimit-remaining'], String(3 - i))
  }
  const limited = await askGrant(test, 'alice')
  t.equal(limited.statusCode, 429, 'the 4th: 429')
  t.ok(isErrorResponse.Check(limited.json()), 'in the shared error shape')
  t.match(limited.json(), { statusCode: 429, code: 'RATE_LIMITED', error: 'Too Many Requests' })
  t.match(limited.json().message, /retry in \d+ (second|minute)/)
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `Retry-After: ${limited.headers['retry-after']} seconds`)

  t.equal((await askGrant(test, 'bob')).statusCode, 200, 'bob is unaffected')
  const malformed = await test.app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { nope: 1 } })
  t.equal(malformed.statusCode, 429, 'a malformed request from alice is counted and refused too')
  const anonymous = await test.app.inject({ method: 'POST', url: '/files/upload-url', payload: { filename: 'n.txt' } })
  t.equal(anonymous.statusCode, 401, 'no token is still 401 first')
  t.equal((await test.app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).statusCode, 200, 'routes without a limit still answer alice')

  // Confirm counts on its own: alice's exhausted upload-url budget does not block her confirms.
  const grant = (await askGrant(test, 'bob')).json<Grant>()
  t.equal((await postToS3(grant, 'bob')).status, 204)
  for (let i = 1; i <= 3; i++) t.equal((await confirm(test, 'bob', grant.key)).statusCode, i === 1 ? 201 : 200, `bob's confirm ${i}`)
  const confirmLimited = await confirm(test, 'bob', grant.key)
  t.equal(confirmLimited.statusCode, 429, 'the 4th confirm: 429')
  t.ok(Number(confirmLimited.headers['retry-after']) > 0)
  t.equal((await confirm(test, 'alice', 'uploads/nothing')).statusCode, 400, 'alice may still confirm (her key is just wrong)')
})

t.test('the limit lifts when the window ends', async (t) => {
  const test = await buildTestApp(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW: '1s' })
  t.equal((await askGrant(test, 'alice')).statusCode, 200)
  const limited = await askGrant(test, 'alice')
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '1')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await askGrant(test, 'alice')).statusCode, 200, 'allowed again after Retry-After')
})

t.test('RATE_LIMIT_ENABLED=false turns the limits off', async (t) => {
  const test = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_MAX: '1' })
  const statuses = await Promise.all(Array.from({ length: 5 }, async () => (await askGrant(test, 'alice')).statusCode))
  t.same(statuses, [200, 200, 200, 200, 200])
})

t.test('MAX_FILES_PER_OWNER: upload-url refuses once the owner has that many files, and confirm holds the line', async (t) => {
  const test = await buildTestApp(t, { MAX_FILES_PER_OWNER: '2' })
  const first = await uploaded(test, 'alice')
  t.equal((await confirm(test, 'alice', first.key)).statusCode, 201)
  // Two grants while alice has one file: both allowed, but only one of them can become a file.
  const second = await uploaded(test, 'alice')
  const third = await uploaded(test, 'alice')
  t.equal((await confirm(test, 'alice', second.key)).statusCode, 201, 'the second file: 201')

  const refused = await askGrant(test, 'alice')
  t.equal(refused.statusCode, 403, 'a third grant: 403')
  t.ok(isErrorResponse.Check(refused.json()))
  t.match(refused.json(), { code: 'FILE_LIMIT_REACHED', message: /You already have 2 files/ })
  t.equal((await askGrant(test, 'bob')).statusCode, 200, 'bob is unaffected')

  const late = await confirm(test, 'alice', third.key)
  t.equal(late.statusCode, 422, 'confirming the third upload: 422')
  t.match(late.json(), { code: 'UPLOAD_REJECTED', message: /you already have 2 files/ })
  t.notOk((await listKeys(test.s3, test.bucket)).includes(third.key), 'and it was deleted')
  t.equal((await confirm(test, 'alice', second.key)).statusCode, 200, 'a repeated confirm of a recorded file still answers 200 at the cap')

  t.equal((await test.app.inject({ method: 'DELETE', url: `/files/${first.file_id}`, headers: bearer('alice') })).statusCode, 204)
  t.equal((await askGrant(test, 'alice')).statusCode, 200, 'after a delete, alice may upload again')
})
