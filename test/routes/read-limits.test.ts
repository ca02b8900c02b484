// Read budgets (issue 16, finding 2): listings, records and download URLs share one budget per owner, multipart reads have
// their own, apart from upload-url and confirm.
import { Compile } from 'typebox/compile'
import t from 'tap'
import { ErrorResponseSchema } from '../../src/schemas/error-response.js'
import { bearer, buildTestApp, type TestApp } from '../helper.js'
import { confirm, uploadFile } from '../support/flow.js'

const isErrorResponse = Compile(ErrorResponseSchema)
const MISSING = '0190a0a0-0000-7000-8000-000000000000'
const get = async (test: TestApp, url: string, owner?: string) =>
  await test.app.inject({ method: 'GET', url, ...(owner !== undefined && { headers: bearer(owner) }) })

t.test('an owner over the read budget inside the window gets 429 with Retry-After; listing, records and download URLs share it', async (t) => {
  const test = await buildTestApp(t, { READ_RATE_LIMIT_MAX: '3', READ_RATE_LIMIT_WINDOW: '1m', RATE_LIMIT_MAX: '10', RATE_LIMIT_ANONYMOUS_MAX: '5' })
  const grant = await uploadFile(test.app, 'alice', 'a shared note')
  t.equal((await confirm(test.app, 'alice', grant.key)).statusCode, 201)
  t.equal((await test.app.inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: bearer('alice'), payload: { is_public: true } })).statusCode, 200)

  for (let i = 1; i <= 3; i++) {
    const res = await get(test, '/files?limit=100', 'alice')
    t.equal(res.statusCode, 200, `listing ${i} of 3: 200`)
    t.equal(res.headers['x-ratelimit-remaining'], String(3 - i))
  }
  const limited = await get(test, '/files?limit=100', 'alice')
  t.equal(limited.statusCode, 429, 'the 4th listing inside the window: 429')
  t.ok(isErrorResponse.Check(limited.json()), 'in the shared error shape')
  t.match(limited.json(), { statusCode: 429, code: 'RATE_LIMITED' })
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `Retry-After: ${String(limited.headers['retry-after'])} s`)
  // One budget for the three file reads: spent on listings, it is spent for records and download URLs too.
  for (const url of [`/files/${grant.file_id}`, `/files/download/${grant.file_id}`]) {
    t.equal((await get(test, url, 'alice')).statusCode, 429, `${url}: 429, the listings spent the same budget`)
  }
  const batch = await test.app.inject({ method: 'POST', url: '/files/download-urls', headers: bearer('alice'), payload: { ids: [grant.file_id] } })
  t.equal(batch.statusCode, 429, 'POST /files/download-urls: 429, the same budget')

  // Spread over the three routes, bob's reads are counted together too.
  const mixed: number[] = []
  for (const url of ['/files', `/files/${MISSING}`, `/files/download/${MISSING}`, '/files']) mixed.push((await get(test, url, 'bob')).statusCode)
  t.same(mixed, [200, 404, 404, 429], 'bob: a listing, a record read and a download URL (404s count too) spend his 3 reads; the 4th read is 429')
  t.equal((await get(test, `/files/${grant.file_id}`, 'carol')).statusCode, 404, 'another owner is unaffected')

  // Multipart reads keep a budget of their own per route.
  const multipart: number[] = []
  for (let i = 0; i < 4; i++) multipart.push((await get(test, '/files/multipart', 'alice')).statusCode)
  t.same(multipart, [200, 200, 200, 429], '/files/multipart: 3 reads, then 429')
  const parts = await test.app.inject({ method: 'GET', url: `/files/multipart/${grant.file_id}/s3/parts`, headers: bearer('alice') })
  t.equal(parts.statusCode, 404, 'a read route with budget left answers as usual')

  // Anonymous downloads of the shared file spend the address's budget, not alice's.
  const anonymous: number[] = []
  for (let i = 0; i < 6; i++) anonymous.push((await get(test, `/files/download/${grant.file_id}`)).statusCode)
  t.same(anonymous, [200, 200, 200, 200, 200, 429], 'without a token: RATE_LIMIT_ANONYMOUS_MAX (5) per address')

  // Writes keep their own limits.
  t.equal((await test.app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'b.txt' } })).statusCode, 200, 'upload-url is not held by the read budget')
})

t.test('the read budget lifts when its window ends, and RATE_LIMIT_ENABLED=false turns it off', async (t) => {
  const test = await buildTestApp(t, { READ_RATE_LIMIT_MAX: '1', READ_RATE_LIMIT_WINDOW: '1s' })
  t.equal((await get(test, '/files', 'alice')).statusCode, 200)
  const limited = await get(test, '/files', 'alice')
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '1')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await get(test, '/files', 'alice')).statusCode, 200, 'allowed again after Retry-After')

  const off = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false', READ_RATE_LIMIT_MAX: '1' })
  const statuses = await Promise.all(Array.from({ length: 4 }, async () => (await get(off, '/files', 'alice')).statusCode))
  t.same(statuses, [200, 200, 200, 200])
})
