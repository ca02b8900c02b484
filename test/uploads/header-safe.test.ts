// Tests the header-safe encoding of S3 metadata values: printable ASCII out, the exact string back.
import t from 'tap'
import { decodeHeaderValue, encodeHeaderValue } from '../../src/uploads/header-safe.js'

/** Printable ASCII without the space: what an HTTP header value may carry unquoted. */
const HEADER_SAFE = /^[\x21-\x7e]*$/

const SAMPLES: Array<[string, string]> = [
  ['the empty string', ''],
  ['a plain name', 'report-2024_v2.pdf'],
  ['accents', 'résumé.pdf'],
  ['decomposed accents', 're\u0301sume\u0301.pdf'],
  ['CJK', '報告書 2024年.pdf'],
  ['Korean and Arabic', '보고서 تقرير.txt'],
  ['emoji with a ZWJ sequence and a flag', '😀🎉 👩‍👩‍👧 🇫🇷.png'],
  ['percent signs', '100% done %41 %%'],
  ['a lone percent sign', '%'],
  ['spaces, leading and trailing', '  a  b  '],
  ['control characters', '\t\r\n\0\x01\x1b\x7f'],
  ['a header injection attempt', 'x\r\nSet-Cookie: y=1'],
  ['quotes', `"double" 'single' \`back\``],
  ['backslashes and slashes', 'C:\\Users\\me/../etc/passwd'],
  ['URL syntax', 'a+b=c&d?e#f;g,h'],
  ['no-break space, line separator, BOM', '\u00a0\u2028\u2029\ufeff'],
  ['C1 controls', '\u0080\u0085\u009f'],
  ['astral characters', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀋'],
  ['a long value', 'ä'.repeat(1000)],
  ['every printable ASCII character', Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('')],
]

t.test('encoding yields printable ASCII without spaces and decoding gives back the exact string', (t) => {
  for (const [what, text] of SAMPLES) {
    const encoded = encodeHeaderValue(text)
    t.match(encoded, HEADER_SAFE, `${what}: encoded value is header-safe`)
    t.equal(decodeHeaderValue(encoded), text, `${what}: round-trips`)
  }
  t.end()
})

t.test('printable ASCII other than % and space stays readable', (t) => {
  t.equal(encodeHeaderValue('report-2024_v2.pdf'), 'report-2024_v2.pdf')
  t.equal(encodeHeaderValue('alice@example.com'), 'alice@example.com')
  t.equal(encodeHeaderValue('a b'), 'a%20b')
  t.equal(encodeHeaderValue('%'), '%25', 'a literal % is encoded so decoding cannot misread it')
  t.equal(encodeHeaderValue('%41'), '%2541')
  t.equal(encodeHeaderValue('é'), '%C3%A9', 'non-ASCII becomes percent-encoded UTF-8')
  t.end()
})

t.test('decodeHeaderValue returns undefined for malformed percent-encoding', (t) => {
  const malformed: Array<[string, string]> = [
    ['a lone %', '%'],
    ['a trailing %', 'abc%'],
    ['one hex digit', '%4'],
    ['non-hex digits', '%ZZ'],
    ['a truncated UTF-8 sequence', '%C3'],
    ['a stray continuation byte', '%A9'],
    ['an invalid UTF-8 byte', '%FF'],
    ['an encoded surrogate', '%ED%A0%80'],
    ['an overlong encoding', '%C0%AF'],
  ]
  for (const [what, text] of malformed) t.equal(decodeHeaderValue(text), undefined, `undefined for ${what}`)
  t.end()
})
