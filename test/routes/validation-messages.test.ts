// Validation errors name the field and what it takes, in words: no schema paths, no regular expressions, and an unknown field's likely intended name.
import t from 'tap'
import { bearer, buildTestApp } from '../helper.js'

const { app } = await buildTestApp(t)
const id = '0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b'

interface Case { readonly name: string, readonly method: 'GET' | 'POST' | 'PATCH', readonly url: string, readonly payload?: unknown, readonly message: string }

const cases: readonly Case[] = [
  { name: 'a malformed content type', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', content_type: 'image png' }, message: 'content_type must be a MIME type such as image/png' },
  { name: 'contentType for content_type', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', contentType: 'image/png' }, message: 'contentType is not a field of the body; did you mean content_type?' },
  { name: 'FileName for filename', method: 'POST', url: '/files/upload-url', payload: { FileName: 'a.png' }, message: 'FileName is not a field of the body; did you mean filename?' },
  { name: 'an unknown field', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', key: 'mine' }, message: 'key is not a field of the body; the fields are filename, content_type, size, md5, metadata' },
  { name: 'no filename', method: 'POST', url: '/files/upload-url', payload: {}, message: 'filename is required (the original file name: 1 to 255 characters, no control characters)' },
  { name: 'an empty filename', method: 'POST', url: '/files/upload-url', payload: { filename: '' }, message: 'filename must not be empty' },
  { name: 'a long filename', method: 'POST', url: '/files/upload-url', payload: { filename: `${'a'.repeat(252)}.txt` }, message: 'filename must be at most 255 characters' },
  { name: 'a control character', method: 'POST', url: '/files/upload-url', payload: { filename: 'a\u0007b.txt' }, message: 'filename must be text without control characters' },
  { name: 'a zero size', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', size: 0 }, message: 'size must be 1 or more' },
  { name: 'a size in words', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.png', size: 'big' }, message: 'size must be a whole number' },
  { name: 'an uppercase metadata key', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: { Album: 'x' } }, message: 'metadata key Album must be lowercase letters, digits and hyphens, at most 64, starting with a letter or digit' },
  { name: 'a long metadata value', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', metadata: { note: 'x'.repeat(513) } }, message: 'metadata.note must be at most 512 characters' },
  { name: 'a bad md5', method: 'POST', url: '/files/upload-url', payload: { filename: 'a.txt', md5: 'abc' }, message: 'md5 must be a base64 MD5 of 24 characters such as XrY7u+Ae7tCTyyK7j1rNww==' },
  { name: 'a malformed id', method: 'GET', url: '/files/not-an-id', message: 'id must be a file id issued by filegate, such as 0193a4b2-7c1d-7e3f-9a2b-3c4d5e6f7a8b' },
  { name: 'a bad disposition', method: 'GET', url: `/files/download/${id}?disposition=evil`, message: 'disposition must be one of attachment, inline' },
  { name: 'a list limit over 100', method: 'GET', url: '/files?limit=1000', message: 'limit must be 100 or less' },
  { name: 'an unknown query parameter', method: 'GET', url: '/files?Limit=5', message: 'Limit is not a field of the query; did you mean limit?' },
  { name: 'sharing without is_public', method: 'PATCH', url: `/files/${id}`, payload: { public: true }, message: 'is_public is required (true shares the file: anyone with its id may get a download URL, without a token; false makes it private again)' },
  { name: 'a part number of 0', method: 'POST', url: `/files/multipart/${id}/parts`, payload: { parts: [{ number: 0 }] }, message: 'parts[0].number must be 1 or more' },
  { name: 'no parts', method: 'POST', url: `/files/multipart/${id}/parts`, payload: { parts: [] }, message: 'parts must have at least 1 entry' },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const response = await app.inject({ method: c.method, url: c.url, headers: bearer('alice'), ...(c.payload !== undefined && { payload: c.payload as object }) })
    t.equal(response.statusCode, 400)
    const body = response.json<{ code: string, message: string }>()
    t.equal(body.code, 'VALIDATION_ERROR')
    t.equal(body.message, c.message)
    t.notMatch(body.message, /must NOT|must match pattern|\^|body\/|querystring|#\//, 'no schema internals')
  })
}
