// Bad input: each gets its documented 4xx code in the shared error shape, and nothing is written to the bucket.
import t from 'tap'
import { createSigner } from 'fast-jwt'
import { newFileId } from '../../src/uploads/file-id.js'
import { bearer, buildTestApp, listKeys, TEST_JWT_SECRET, tokenFor } from '../helper.js'

const ERROR_KEYS = ['code', 'error', 'message', 'statusCode']

t.test('bad requests get documented errors and write nothing', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { ALLOWED_CONTENT_TYPES: 'image/*,application/pdf,text/plain', MAX_FILE_SIZE: '1MiB' })
  const id = newFileId()
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '/')
  const cases: Array<{ name: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, status: number, code: string, headers?: Record<string, string> }> = [
    { name: 'a disallowed type', method: 'POST', url: '/files/upload-url', payload: { filename: 'page.html' }, status: 400, code: 'CONTENT_TYPE_NOT_ALLOWED' },
    { name: 'a disallowed explicit type', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', content_type: 'application/zip' }, status: 400, code: 'CONTENT_TYPE_NOT_ALLOWED' },
    { name: 'a malformed type', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', content_type: 'image/png; evil=1' }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a declared size over the limit', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', size: 1024 * 1024 + 1 }, status: 400, code: 'FILE_TOO_LARGE' },
    { name: 'a zero size', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', size: 0 }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'no filename', method: 'POST', url: '/files/upload-url', payload: {}, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'an empty filename', method: 'POST', url: '/files/upload-url', payload: { filename: '' }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a 256-character filename', method: 'POST', url: '/files/upload-url', payload: { filename: `${'a'.repeat(252)}.txt` }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a control character in the filename', method: 'POST', url: '/files/upload-url', payload: { filename: 'a\u0007b.txt' }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a newline in the filename', method: 'POST', url: '/files/upload-url', payload: { filename: 'a\nb.txt' }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a lone surrogate in the filename', method: 'POST', url: '/files/upload-url', payload: { filename: 'a\ud800.pdf' }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a lone surrogate in a metadata value', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.pdf', metadata: { note: '\udfff' } }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a filename that is not a string', method: 'POST', url: '/files/upload-url', payload: { filename: ['a.txt'] }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'an unknown body field', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', key: 'mine' }, status: 400, code: 'VALIDATION_ERROR' },
    { name: '11 metadata entries', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'an uppercase metadata key', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: { Album: 'x' } }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a 513-character metadata value', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: { note: 'x'.repeat(513) } }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a non-string metadata value', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: { n: { deep: 1 } } }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a reserved metadata key', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: { 'uploaded-by': 'mallory' } }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'metadata over the 2 KB S3 budget', method: 'POST', url: '/files/upload-url', payload: { filename: `${'報'.repeat(200)}.txt`, metadata: { a: 'x'.repeat(500), b: 'y'.repeat(500) } }, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'invalid JSON', method: 'POST', url: '/files/upload-url', payload: '{"filename":', status: 400, code: 'VALIDATION_ERROR', headers: { 'content-type': 'application/json' } },
    { name: 'a body that is not JSON', method: 'POST', url: '/files/upload-url', payload: 'filename=a.txt', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    { name: 'a body over the body limit', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', pad: 'x'.repeat(20_000) }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
    { name: 'a key outside the prefix', method: 'POST', url: `/files/confirm/other/${today}/${id}.txt`, status: 400, code: 'INVALID_KEY' },
    { name: 'a record key', method: 'POST', url: `/files/confirm/_filegate/records/${id}.json`, status: 400, code: 'INVALID_KEY' },
    { name: 'a key with ..', method: 'POST', url: `/files/confirm/uploads/../_filegate/records/${id}.json`, status: 400, code: 'INVALID_KEY' },
    { name: 'a key with URL-encoded ..', method: 'POST', url: `/files/confirm/uploads%2F%2E%2E%2F_filegate%2Frecords%2F${id}.json`, status: 400, code: 'INVALID_KEY' },
    { name: 'a key with %2e%2e segments', method: 'POST', url: `/files/confirm/uploads/${today}/%2e%2e/${id}.txt`, status: 400, code: 'INVALID_KEY' },
    { name: 'a key with an empty segment', method: 'POST', url: `/files/confirm/uploads//${today}/${id}.txt`, status: 400, code: 'INVALID_KEY' },
    { name: 'a key without a filegate id', method: 'POST', url: `/files/confirm/uploads/${today}/report.txt`, status: 400, code: 'INVALID_KEY' },
    { name: 'an empty key', method: 'POST', url: '/files/confirm/', status: 400, code: 'INVALID_KEY' },
    { name: 'a well-formed key with nothing uploaded', method: 'POST', url: `/files/confirm/uploads/${today.slice(0, 0)}${new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toISOString().slice(0, 10).replace(/-/g, '/')}/${id}.txt`, status: 404, code: 'UPLOAD_NOT_FOUND' },
    { name: 'an unknown id', method: 'GET', url: `/files/${id}`, status: 404, code: 'FILE_NOT_FOUND' },
    { name: 'an unknown id to download', method: 'GET', url: `/files/download/${id}`, status: 404, code: 'FILE_NOT_FOUND' },
    { name: 'an unknown id to delete', method: 'DELETE', url: `/files/${id}`, status: 404, code: 'FILE_NOT_FOUND' },
    { name: 'a malformed id', method: 'GET', url: '/files/not-an-id', status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a malformed id to download', method: 'GET', url: '/files/download/..%2F..%2Fetc', status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a malformed id to delete', method: 'DELETE', url: '/files/12345', status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a bad disposition', method: 'GET', url: `/files/download/${id}?disposition=evil`, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a negative expiry', method: 'GET', url: `/files/download/${id}?expires_in=-5`, status: 400, code: 'VALIDATION_ERROR' },
    { name: 'a list limit over 100', method: 'GET', url: '/files?limit=1000', status: 400, code: 'VALIDATION_ERROR' },
    { name: 'an unknown route', method: 'GET', url: '/nope', status: 404, code: 'ROUTE_NOT_FOUND' },
  ]
  for (const c of cases) {
    const res = await app.inject({ method: c.method, url: c.url, headers: { ...bearer('alice'), ...c.headers }, ...(c.payload !== undefined && { payload: c.payload as string }) })
    t.equal(res.statusCode, c.status, `${c.name}: ${c.status}`)
    const body = res.json<Record<string, unknown>>()
    t.equal(body.code, c.code, `${c.name}: ${c.code}`)
    t.same(Object.keys(body).sort(), ERROR_KEYS, `${c.name}: the shared error shape`)
    t.equal(body.statusCode, c.status)
    t.ok(typeof body.message === 'string' && body.message.length > 0, `${c.name}: a message (${String(body.message)})`)
  }
  t.same(await listKeys(s3, bucket), [], 'nothing was written to the bucket')
})

t.test('every JWT failure is 401 UNAUTHORIZED', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'filegate' })
  const good = { iss: 'https://issuer.test', aud: 'filegate', exp: Math.floor(Date.now() / 1000) + 3600 }
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const sign = (payload: Record<string, unknown>, key = TEST_JWT_SECRET) => createSigner({ key, algorithm: 'HS256' })(payload)
  const headersFor: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['an empty Authorization header', { authorization: '' }],
    ['a Basic scheme', { authorization: 'Basic YWxpY2U6cGFzcw==' }],
    ['Bearer without a token', { authorization: 'Bearer ' }],
    ['a malformed token', { authorization: 'Bearer not.a.jwt' }],
    ['garbage', { authorization: 'Bearer \u00ff\u00fe' }],
    ['an expired token', { authorization: `Bearer ${sign({ sub: 'alice', ...good, exp: Math.floor(Date.now() / 1000) - 60 })}` }],
    ['a token not yet valid', { authorization: `Bearer ${sign({ sub: 'alice', ...good, nbf: Math.floor(Date.now() / 1000) + 3600 })}` }],
    ['a wrong signature', { authorization: `Bearer ${sign({ sub: 'alice', ...good }, 'another-secret-of-at-least-32-characters!!')}` }],
    ['alg none', { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', ...good })}.` }],
    ['no owner claim', { authorization: `Bearer ${sign({ ...good })}` }],
    ['an empty owner claim', { authorization: `Bearer ${sign({ sub: '', ...good })}` }],
    ['a numeric owner claim', { authorization: `Bearer ${sign({ sub: 42, ...good })}` }],
    ['a wrong issuer', { authorization: `Bearer ${sign({ sub: 'alice', ...good, iss: 'https://evil.test' })}` }],
    ['a wrong audience', { authorization: `Bearer ${sign({ sub: 'alice', ...good, aud: 'other' })}` }],
    // fast-jwt checks iss and aud only when present: with JWT_ISSUER and JWT_AUDIENCE set, a token without them is refused too.
    ['no issuer', { authorization: `Bearer ${sign({ sub: 'alice', ...good, iss: undefined })}` }],
    ['no audience', { authorization: `Bearer ${sign({ sub: 'alice', ...good, aud: undefined })}` }],
  ]
  for (const [name, headers] of headersFor) {
    for (const [method, url, payload] of [['POST', '/files/upload-url', { filename: 'a.txt' }], ['GET', '/files', undefined]] as const) {
      const res = await app.inject({ method, url, headers, ...(payload !== undefined && { payload }) })
      t.equal(res.statusCode, 401, `${name}: ${method} ${url} is 401`)
      t.equal(res.json().code, 'UNAUTHORIZED')
    }
  }
  const ok = await app.inject({ method: 'GET', url: '/files', headers: { authorization: `Bearer ${sign({ sub: 'alice', ...good })}` } })
  t.equal(ok.statusCode, 200, 'the control token with issuer and audience is accepted')
  t.ok(tokenFor('x').length > 0)
  t.same(await listKeys(s3, bucket), [])
})
