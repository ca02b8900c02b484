// Tests list cursors: S3 continuation tokens round-trip, and anything GET /files did not issue is a VALIDATION_ERROR.
import t from 'tap'
import { decodeCursor, encodeCursor } from '../../src/uploads/cursor.js'

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url')

t.test('a cursor decodes to the token it wraps and is URL-safe', (t) => {
  const tokens = [
    'a',
    '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    '_filegate/owners/YWxpY2U/9998-0190-aaaa',
    '{"v":2,"t":"nested"}',
    'quotes " and \\ and \n newline',
    '報告 😀',
    'x'.repeat(4096),
  ]
  for (const token of tokens) {
    const cursor = encodeCursor(token)
    t.match(cursor, /^[A-Za-z0-9_-]+$/, `cursor for ${JSON.stringify(token.slice(0, 20))} is URL-safe`)
    t.equal(decodeCursor(cursor), token, 'round-trips')
  }
  t.end()
})

t.test('garbage, wrong versions and empty tokens are refused with VALIDATION_ERROR', (t) => {
  const bad: Array<[string, string]> = [
    ['an empty cursor', ''],
    ['garbage', 'garbage'],
    ['punctuation', '!!!!'],
    ['base64 of text that is not JSON', b64('not json')],
    ['JSON null', b64('null')],
    ['a JSON array', b64('[1,"x"]')],
    ['a JSON string', b64('"token"')],
    ['a JSON number', b64('1')],
    ['version 2', b64(JSON.stringify({ v: 2, t: 'token' }))],
    ['version 0', b64(JSON.stringify({ v: 0, t: 'token' }))],
    ['version "1" as a string', b64(JSON.stringify({ v: '1', t: 'token' }))],
    ['no version', b64(JSON.stringify({ t: 'token' }))],
    ['no token', b64(JSON.stringify({ v: 1 }))],
    ['an empty token', b64(JSON.stringify({ v: 1, t: '' }))],
    ['a numeric token', b64(JSON.stringify({ v: 1, t: 42 }))],
    ['a null token', b64(JSON.stringify({ v: 1, t: null }))],
    ['a truncated cursor', encodeCursor('some-token').slice(0, 10)],
  ]
  for (const [what, cursor] of bad) {
    t.throws(() => decodeCursor(cursor), { code: 'VALIDATION_ERROR', statusCode: 400 }, `refuses ${what}`)
  }
  t.end()
})
