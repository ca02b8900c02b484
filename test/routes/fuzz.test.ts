// Fuzzing every route with fast-check: never a 5xx, never a stack trace or internal path, every error in the shared shape, no write by a rejected request.
import { STATUS_CODES } from 'node:http'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { Compile } from 'typebox/compile'
import { ErrorResponseSchema } from '../../src/schemas/error-response.js'
import { bearer, buildTestApp, postToS3, TEST_JWT_SECRET, testS3, tokenFor, type TestApp } from '../helper.js'
import { tinyPng } from '../support/fixtures.js'
import { countS3Calls } from '../support/s3-calls.js'

/** FUZZ_SEED=<integer> replays a run; FUZZ_SEED=random draws a new one. Either way the seed is printed. */
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 20_240_625)
const RUNS = Math.max(1000, Number(process.env.FUZZ_RUNS ?? 1000))
const isErrorResponse = Compile(ErrorResponseSchema)

interface Grant { url: string, key: string, fields: Record<string, string>, file_id: string }

// ---- Building blocks

/** Percent-encodes every byte outside the unreserved set, as a careful client would (lone surrogates become U+FFFD). */
const encode = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')

const anyText = fc.string({ unit: 'binary', maxLength: 40 })
/** Characters a raw path or query may carry unencoded, stray `%` included. */
const rawUrlText = fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@/-]{0,40}$/)
const tricky = fc.constantFrom('..', '.', '%2e%2e', '%2E%2E%2F', '%2F', '%00', '%', '%zz', '%ff', '%c0%af', '%ed%a0%80', '~', '_filegate', 'uploads', 'records', '*', '%2A', ' ', '%20', 'docs')
const pathPart = fc.oneof(anyText.map(encode), rawUrlText, tricky)

/** A header value HTTP allows: visible ASCII, spaces and tabs. */
const headerText = fc.stringMatching(/^[\x20-\x7e\t]{0,60}$/)

const sign = (payload: Record<string, unknown>, key: string = TEST_JWT_SECRET, options: { expiresIn?: number } = {}) =>
  createSigner({ key, algorithm: 'HS256', expiresIn: options.expiresIn ?? 3600_000 })(payload)

function authorizations (owners: readonly string[]): fc.Arbitrary<string | undefined> {
  const unsigned = (sub: string) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub })).toString('base64url')}.`
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...owners).map((o) => `Bearer ${tokenFor(o)}`) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((sub) => `Bearer ${tokenFor(sub)}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `Bearer ${sign({ sub: 'alice' }, 'another-secret-of-at-least-32-characters!')}`,
        `Bearer ${sign({ sub: 'alice', exp: 1 })}`,
        `Bearer ${sign({ sub: 42 })}`,
        `Bearer ${sign({ name: 'no subject' })}`,
        `Bearer ${sign({ sub: '' })}`,
        `Bearer ${unsigned('alice')}`,
        `Bearer ${tokenFor('alice')}x`,
        `bearer ${tokenFor('alice')}`,
        'Bearer', 'Bearer ', '', 'Basic YWxpY2U6c2VjcmV0', `Bearer ${tokenFor('alice')} ${tokenFor('bob')}`,
      ),
    },
    { weight: 2, arbitrary: headerText },
    { weight: 1, arbitrary: headerText.map((h) => `Bearer ${h}`) },
  )
}

const contentTypes = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('APPLICATION/JSON', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'text/plain',
      'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/octet-stream', 'application/vnd.api+json', ''),
  },
)

type Body = { readonly kind: 'json', readonly value: unknown } | { readonly kind: 'raw', readonly text: string }

function bodies (shaped: fc.Arbitrary<unknown>): fc.Arbitrary<Body | undefined> {
  return fc.oneof(
    { weight: 5, arbitrary: shaped.map((value): Body => ({ kind: 'json', value })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): Body => ({ kind: 'json', value })) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }).map((value): Body => ({ kind: 'json', value })) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text): Body => ({ kind: 'raw', text })) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"filename":', '[]', 'null', '""', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', `{"filename":"${'x'.repeat(17_000)}"}`).map((text): Body => ({ kind: 'raw', text })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
}

function queries (known: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(known)
  const randomPair = fc.tuple(fc.oneof(anyText.map(encode), rawUrlText), fc.oneof(anyText.map(encode), rawUrlText)).map(([k, v]) => `${k}=${v}`)
  const knownPair = names.length === 0
    ? randomPair
    : fc.constantFrom(...names).chain((key) => (known[key] ?? fc.constant('')).map((value) => `${key}=${encode(value)}`))
  return fc.array(fc.oneof({ weight: 3, arbitrary: knownPair }, { weight: 1, arbitrary: randomPair }, { weight: 1, arbitrary: rawUrlText }), { maxLength: 5 })
    .map((pairs) => pairs.length === 0 ? '' : `?${pairs.join('&')}`)
}

interface Request {
  readonly method: InjectOptions['method']
  readonly url: string
  readonly authorization: string | undefined
  readonly contentType: string
  readonly body: Body | undefined
  readonly extraHeaders: Readonly<Record<string, string>>
}

const extraHeaders = fc.dictionary(
  fc.constantFrom('origin', 'accept', 'x-forwarded-for', 'x-request-id', 'cookie', 'if-none-match', 'range', 'x-http-method-override', 'accept-encoding'),
  headerText, { maxKeys: 3 },
)

function requests (method: fc.Arbitrary<InjectOptions['method']>, url: fc.Arbitrary<string>, shapedBody: fc.Arbitrary<unknown>, owners: readonly string[]): fc.Arbitrary<Request> {
  return fc.record({ method, url, authorization: authorizations(owners), contentType: contentTypes, body: bodies(shapedBody), extraHeaders })
}

// ---- The checks every answer must pass

const WRITE_COMMANDS = /^(Put|Delete|Copy|Create|Complete|Upload|Abort|Restore)/

function problemsWith (request: Request, status: number, body: string, headers: Record<string, unknown>, writes: readonly string[]): string[] {
  const problems: string[] = []
  if (status >= 500) problems.push(`answered ${status}`)
  if (/\bat [^\n]*[(/][^\n]*:\d+:\d+/.test(body) || body.includes('node_modules') || body.includes(process.cwd()) || body.includes('file://')) {
    problems.push('a stack trace or an internal path in the body')
  }
  const store = testS3()
  if (body.includes(store.secretAccessKey) || JSON.stringify(headers).includes(store.secretAccessKey) || body.includes(TEST_JWT_SECRET)) problems.push('a secret in the answer')
  if (status >= 400 && request.method !== 'HEAD') {
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      problems.push('an error body that is not JSON')
    }
    if (!isErrorResponse.Check(parsed)) problems.push('an error body that is not an ErrorResponse')
    else {
      if (parsed.statusCode !== status) problems.push(`statusCode ${parsed.statusCode} in a ${status} answer`)
      if (parsed.error !== STATUS_CODES[status]) problems.push(`error "${parsed.error}" for ${status}`)
      if (Object.keys(parsed).sort().join() !== 'code,error,message,statusCode') problems.push('extra members in the error body')
      if (!/^[A-Z][A-Z_]+$/.test(parsed.code)) problems.push(`code "${parsed.code}"`)
    }
  }
  // A rejected upload is deleted by design (422 UPLOAD_REJECTED); any other rejected request writes nothing.
  const allowed = status === 422 ? writes.filter((w) => w !== 'DeleteObjectCommand') : writes
  if (status >= 400 && allowed.some((w) => WRITE_COMMANDS.test(w))) problems.push(`a rejected request wrote to the bucket: ${writes.join(', ')}`)
  return problems
}

// ---- The run

t.test('fuzzing every route', async (t) => {
  t.comment(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${RUNS} cases per route`)
  const test: TestApp = await buildTestApp(t, { RATE_LIMIT_MAX: '1000000', MAX_FILES_PER_OWNER: '50', CORS_ORIGINS: 'https://app.example.com', ALLOWED_CONTENT_TYPES: 'image/*,text/plain,application/pdf' })
  const { app } = test

  // Every request filegate sends to S3 (through either client), so each case knows what it wrote.
  const s3 = countS3Calls(app, test.config.s3.endpoint ?? '', test.bucket, t)
  const commandsSince = (from: number): string[] => s3.calls.slice(from).map((call) => call.command)

  // Fixtures: alice's private and public files, an upload of hers not yet confirmed, and bob's file.
  const upload = async (owner: string, filename: string, body: Uint8Array<ArrayBuffer> | string): Promise<Grant> => {
    const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename } })).json<Grant>()
    if ((await postToS3(grant, body)).status !== 204) throw new Error('S3 refused a fixture')
    return grant
  }
  const confirmed = async (owner: string, filename: string, body: Uint8Array<ArrayBuffer> | string): Promise<Grant> => {
    const grant = await upload(owner, filename, body)
    if ((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })).statusCode !== 201) throw new Error('confirm failed')
    return grant
  }
  const privateFile = await confirmed('alice', 'private.png', new Uint8Array(tinyPng()))
  const publicFile = await confirmed('alice', 'public.txt', 'shared text')
  await app.inject({ method: 'PATCH', url: `/files/${publicFile.file_id}`, headers: bearer('alice'), payload: { is_public: true } })
  const pending = await upload('alice', 'pending.png', '<html>not a png</html>')
  const bobsFile = await confirmed('bob', 'bob.txt', 'bob')
  const commands = commandsSince(0)
  t.ok(commands.includes('PutObjectCommand') && commands.includes('HeadObjectCommand'), 'the command log sees filegate\'s writes and reads')
  const owners = ['alice', 'bob', 'carol']
  const ids = [privateFile.file_id, publicFile.file_id, pending.file_id, bobsFile.file_id]
  const keys = [privateFile.key, publicFile.key, pending.key, bobsFile.key]

  const idArb = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ids) },
    // Missing files cost a slow 404 from S3, so fewer of them.
    { weight: 1, arbitrary: fc.uuid({ version: 7 }) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: pathPart },
    { weight: 1, arbitrary: fc.constantFrom(...ids).map((id) => id.toUpperCase()) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ids), pathPart).map(([id, extra]) => `${id}${extra}`) },
  )
  const keyArb = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...keys) },
    { weight: 1, arbitrary: fc.constantFrom(...keys).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...keys), pathPart, fc.nat(6)).map(([key, part, at]) => { const s = key.split('/'); s.splice(at % (s.length + 1), 0, part); return s.join('/') }) },
    { weight: 2, arbitrary: fc.array(pathPart, { maxLength: 6 }).map((parts) => parts.join('/')) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...keys), fc.constantFrom('.', '..', '%2e%2e', '')).map(([key, dots]) => key.replace(/\/[^/]+\//, `/${dots}/`)) },
  )

  const metadata = fc.oneof(fc.dictionary(fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/), anyText), fc.oneof(anyText, fc.string({ maxLength: 600 })), { maxKeys: 12 }), fc.jsonValue({ maxDepth: 2 }))
  // Mostly well-formed grants, so that cases get past validation to the rules and S3.
  const wellFormedUpload = fc.record({
    filename: fc.oneof(fc.constantFrom('a.png', 'notes.txt', 'doc.pdf', 'résumé.pdf', '報告書.txt', 'no-extension'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
    content_type: fc.constantFrom('image/png', 'text/plain', 'application/pdf', 'image/webp', 'text/html'),
    size: fc.integer({ min: 1, max: 2 * 1024 * 1024 }),
    metadata: fc.dictionary(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
  }, { requiredKeys: ['filename'] })
  const anyUpload = fc.record({
    filename: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('a.png', 'x.txt', '../../etc/passwd', 'a\u0000b.txt', 'CON', '.png', 'a.PDF', `${'x'.repeat(255)}`), fc.jsonValue({ maxDepth: 1 })),
    content_type: fc.oneof(fc.constantFrom('image/png', 'text/html', 'application/pdf', 'image/png; x=y', '', 'IMAGE/PNG', 'text/plain', 'image/*', 'a/b/c'), anyText, fc.jsonValue({ maxDepth: 1 })),
    size: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1, 2 ** 53, -1, 5 * 1024 ** 3), anyText),
    metadata,
  }, { requiredKeys: [] })
  const uploadBody = fc.oneof({ weight: 3, arbitrary: wellFormedUpload }, { weight: 2, arbitrary: anyUpload })
  const sharingBody = fc.oneof(fc.record({ is_public: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }), fc.record({ is_public: fc.boolean(), extra: fc.jsonValue({ maxDepth: 1 }) }))
  const noBody = fc.constant(undefined)
  const downloadQuery = queries({
    filename: fc.oneof(anyText, fc.constantFrom('a"b.txt', 'x\r\nSet-Cookie: y', '')),
    disposition: fc.oneof(fc.constantFrom('inline', 'attachment', 'INLINE', ''), anyText),
    expires_in: fc.oneof(fc.integer().map(String), fc.constantFrom('0', '604801', '1e3', '-1', '3.5', 'NaN')),
    redirect: fc.oneof(fc.constantFrom('true', 'false', '1', '0', 'yes', ''), anyText),
  })
  const listQuery = queries({
    limit: fc.oneof(fc.integer().map(String), fc.constantFrom('0', '101', '1.5', '', 'ten')),
    cursor: fc.oneof(anyText, fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')), fc.string({ maxLength: 80 }).map((tk) => Buffer.from(JSON.stringify({ v: 1, t: tk })).toString('base64url'))),
  })
  const anyMethod = fc.constantFrom<InjectOptions['method']>('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')

  const routes: Array<{ readonly name: string, readonly arbitrary: fc.Arbitrary<Request> }> = [
    { name: 'POST /files/upload-url', arbitrary: requests(fc.constant('POST'), queries({}).map((q) => `/files/upload-url${q}`), uploadBody, owners) },
    { name: 'POST /files/confirm/*', arbitrary: requests(fc.constant('POST'), keyArb.map((k) => `/files/confirm/${k}`), fc.jsonValue({ maxDepth: 1 }), owners) },
    { name: 'GET /files/download/:id', arbitrary: requests(fc.constant('GET'), fc.tuple(idArb, downloadQuery).map(([id, q]) => `/files/download/${id}${q}`), noBody, owners) },
    { name: 'GET /files', arbitrary: requests(fc.constant('GET'), listQuery.map((q) => `/files${q}`), noBody, owners) },
    { name: 'GET /files/:id', arbitrary: requests(fc.constant('GET'), fc.tuple(idArb, queries({})).map(([id, q]) => `/files/${id}${q}`), noBody, owners) },
    { name: 'PATCH /files/:id', arbitrary: requests(fc.constant('PATCH'), fc.oneof(fc.constantFrom(...ids), idArb).map((id) => `/files/${id}`), sharingBody, owners) },
    { name: 'GET /health and /ready', arbitrary: requests(fc.constantFrom('GET', 'HEAD'), fc.tuple(fc.constantFrom('/health', '/ready'), queries({})).map(([p, q]) => `${p}${q}`), noBody, owners) },
    { name: 'GET /docs', arbitrary: requests(fc.constantFrom('GET', 'HEAD'), fc.tuple(fc.constantFrom('/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/', '/docs/static/index.css', '/docs/'), fc.array(pathPart, { maxLength: 3 })).map(([p, parts]) => `${p}${parts.join('/')}`), noBody, owners) },
    { name: 'any method, any path (unknown routes, wrong methods, preflights)', arbitrary: requests(anyMethod, fc.tuple(fc.constantFrom('/', '/files', '/files/', '/files/upload-url', '/demo', '/_filegate', '/files/confirm'), fc.array(pathPart, { maxLength: 4 }), queries({})).map(([p, parts, q]) => `${p}${parts.join('/')}${q}`), uploadBody, owners) },
    // Last, because the owner's valid DELETEs remove the fixtures the other routes use.
    { name: 'DELETE /files/:id', arbitrary: requests(fc.constant('DELETE'), idArb.map((id) => `/files/${id}`), fc.jsonValue({ maxDepth: 1 }), owners) },
  ]

  const started = Date.now()
  for (const route of routes) {
    const statuses = new Map<number, number>()
    let cases = 0
    const property = fc.asyncProperty(route.arbitrary, async (request) => {
      const headers: Record<string, string> = { ...request.extraHeaders }
      if (request.authorization !== undefined) headers.authorization = request.authorization
      let payload: string | undefined
      if (request.body !== undefined) {
        payload = request.body.kind === 'json' ? JSON.stringify(request.body.value) ?? 'null' : request.body.text
        if (request.contentType !== '') headers['content-type'] = request.contentType
      }
      const from = s3.calls.length
      const res = await app.inject({ method: request.method, url: request.url, headers, ...(payload !== undefined && { payload }) })
      cases++
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      const problems = problemsWith(request, res.statusCode, res.body, res.headers, commandsSince(from))
      if (problems.length > 0) throw new Error(`${problems.join('; ')}\n  ${request.method} ${request.url} → ${res.statusCode} ${res.body.slice(0, 300)}`)
    })
    const routeStarted = Date.now()
    await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: true }).then(
      () => t.pass(`${route.name}: ${cases} cases, none failed`),
      (error: unknown) => t.fail(`${route.name}: ${error instanceof Error ? `${error.message}\n${String(error.cause ?? '')}` : String(error)}`),
    )
    t.ok(cases >= RUNS, `${route.name}: at least ${RUNS} cases ran`)
    t.comment(`${route.name}: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')} in ${Date.now() - routeStarted} ms`)
  }
  t.comment(`fuzzing took ${Date.now() - started} ms`)
})
