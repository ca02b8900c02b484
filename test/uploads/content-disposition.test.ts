// Tests Content-Disposition values: pure printable ASCII, a safe quoted fallback, and an exact RFC 8187 filename*.
import t from 'tap'
import { contentDisposition } from '../../src/uploads/content-disposition.js'

interface Disposition {
  readonly type: string
  readonly params: ReadonlyArray<{ readonly name: string, readonly value: string, readonly quoted: boolean }>
}

// The RFC 6266 grammar (with RFC 9110 tokens and quoted strings, RFC 8187 ext-values), just enough to read a header value.
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y
const QUOTED_STRING = /"((?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*)"/y
const EXT_VALUE = /(UTF-8|ISO-8859-1)'([A-Za-z0-9-]*)'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+.^_`|~-])*)/y
const OWS = /[ \t]*/y

/** Parses `type *( OWS ";" OWS name "=" value )`; undefined when the value does not follow the grammar. */
function parseContentDisposition (header: string): Disposition | undefined {
  let at = 0
  const take = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = at
    const match = re.exec(header)
    if (match !== null) at = re.lastIndex
    return match
  }
  const type = take(TOKEN)
  if (type === null) return undefined
  const params: Array<{ name: string, value: string, quoted: boolean }> = []
  while (at < header.length) {
    take(OWS)
    if (header[at] !== ';') return undefined
    at++
    take(OWS)
    const name = take(TOKEN)
    if (name === null || header[at] !== '=') return undefined
    at++
    if (name[0].endsWith('*')) {
      const ext = take(EXT_VALUE)
      if (ext === null) return undefined
      params.push({ name: name[0].toLowerCase(), value: ext[0], quoted: false })
    } else {
      const quoted = take(QUOTED_STRING)
      const value = quoted !== null ? (quoted[1] ?? '').replace(/\\(.)/g, '$1') : take(TOKEN)?.[0]
      if (value === undefined) return undefined
      params.push({ name: name[0].toLowerCase(), value, quoted: quoted !== null })
    }
    take(OWS)
  }
  return { type: type[0].toLowerCase(), params }
}

const NAMES: Array<[string, string]> = [
  ['accents', 'résumé.pdf'],
  ['CJK', '報告.pdf'],
  ['a double quote', 'a"b.txt'],
  ['a header injection attempt', 'x\r\nSet-Cookie: y.txt'],
  ['a path traversal', '../../etc/passwd'],
  ['a backslash', 'back\\slash.txt'],
  ['emoji', '😀 party 🎉.png'],
  ['a ZWJ emoji sequence', '👩‍👩‍👧.jpg'],
  ['a plain name with a space', 'Quarterly report.pdf'],
  ['percent signs', '100% %41.txt'],
  ['semicolons, commas, equals and quotes', `a;b,c=d 'e'.txt`],
  ['other control characters', 'tab\there\0nul\x1besc\x7fdel.bin'],
  ['fullwidth quotes that fold to ASCII quotes', '＂ｘ＂＼.txt'],
  ['a ligature', 'ﬁle.txt'],
  ['Unicode line separators', 'a\u2028b\u2029c\u0085d.txt'],
  ['only spaces', '   '],
  ['a long name', 'é'.repeat(255)],
]

t.test('every header value is printable ASCII and follows attachment; filename="…"; filename*=UTF-8\'\'…', (t) => {
  for (const [what, name] of NAMES) {
    const header = contentDisposition('attachment', name)
    t.match(header, /^[\x20-\x7e]*$/, `${what}: only printable ASCII (no CR, LF or other controls)`)
    t.notMatch(header, /[\r\n]/, `${what}: no line breaks`)

    const parsed = parseContentDisposition(header)
    if (parsed === undefined) {
      t.fail(`${what}: ${JSON.stringify(header)} does not follow RFC 6266`)
      continue
    }
    t.equal(parsed.type, 'attachment', `${what}: disposition type`)
    t.same(parsed.params.map((p) => p.name), ['filename', 'filename*'], `${what}: exactly filename then filename*`)

    const fallback = parsed.params[0]
    t.equal(fallback?.quoted, true, `${what}: the fallback is a quoted string`)
    const quotedPart = /; filename="([^"]*)";/.exec(header)?.[1]
    t.equal(quotedPart, fallback?.value, `${what}: the fallback needs no escapes`)
    t.notMatch(fallback?.value ?? '"', /["\\]/, `${what}: no quote or backslash inside the quotes`)
    t.not(fallback?.value, '', `${what}: the fallback is never empty`)

    const ext = /^UTF-8''(.*)$/.exec(parsed.params[1]?.value ?? '')
    t.ok(ext, `${what}: filename* is UTF-8 with no language`)
    t.equal(decodeURIComponent(ext?.[1] ?? ''), name, `${what}: filename* decodes to the exact original name`)
  }
  t.end()
})

t.test('the ASCII fallback keeps what it can and replaces the rest', (t) => {
  const fallbackOf = (name: string) => /; filename="([^"]*)";/.exec(contentDisposition('attachment', name))?.[1]
  t.equal(fallbackOf('Quarterly report.pdf'), 'Quarterly report.pdf', 'plain ASCII is kept as is')
  t.equal(fallbackOf('résumé.pdf'), 'resume.pdf', 'accents are folded away')
  t.equal(fallbackOf('a"b.txt'), 'a_b.txt')
  t.equal(fallbackOf('back\\slash.txt'), 'back_slash.txt')
  t.equal(fallbackOf('x\r\nSet-Cookie: y.txt'), 'x__Set-Cookie: y.txt')
  t.match(fallbackOf('報告.pdf'), /^[^"\\]+\.pdf$/, 'the extension survives a non-ASCII name')
  t.end()
})

t.test('inline uses the same structure', (t) => {
  const header = contentDisposition('inline', 'photo 😀.png')
  const parsed = parseContentDisposition(header)
  t.equal(parsed?.type, 'inline')
  t.same(parsed?.params.map((p) => p.name), ['filename', 'filename*'])
  t.equal(header, 'inline; filename="photo __.png"; filename*=UTF-8\'\'photo%20%F0%9F%98%80.png')
  t.end()
})

t.test('the test parser itself refuses malformed values', (t) => {
  for (const bad of ['', 'attachment; filename="a"b"', 'attachment; filename="unterminated', 'attachment filename="a"',
    'attachment; filename*=UTF-8\'\'a b', 'attachment; filename*="a"', 'attachment; =x']) {
    t.equal(parseContentDisposition(bad), undefined, JSON.stringify(bad))
  }
  t.same(parseContentDisposition('attachment; filename="a\\"b"; filename*=UTF-8\'\'a%22b'), {
    type: 'attachment',
    params: [{ name: 'filename', value: 'a"b', quoted: true }, { name: 'filename*', value: 'UTF-8\'\'a%22b', quoted: false }],
  }, 'and reads a valid one')
  t.end()
})
