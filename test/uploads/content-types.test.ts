// Tests content types: extensions, inference from file names, the allow-list, and which types may be shown inline.
import t from 'tap'
import {
  CONTENT_TYPE_PATTERN, DEFAULT_CONTENT_TYPE, contentTypeForFilename, extensionOf, isContentTypeAllowed, isInlineSafe, keyExtensionFor,
} from '../../src/uploads/content-types.js'

t.test('extensionOf gives the lowercase extension of a sane file name, or undefined', (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['report.pdf', '.pdf'],
    ['REPORT.PDF', '.pdf'],
    ['photo.JpEg', '.jpeg'],
    ['archive.tar.gz', '.gz'],
    ['résumé.pdf', '.pdf'],
    ['dir/sub/file.txt', '.txt'],
    ['C:\\Users\\me\\notes.Docx', '.docx'],
    ['x.abcdefghij123456', '.abcdefghij123456'],
    ['x.abcdefghij1234567', undefined],
    ['noext', undefined],
    ['.bashrc', undefined],
    ['dir/.hidden', undefined],
    ['trailing.', undefined],
    ['dir.d/file', undefined],
    ['x.pdf ', undefined],
    ['x.p-f', undefined],
    ['x.pdf/', undefined],
    ['x.ÄÖ', undefined],
    ['', undefined],
  ]
  for (const [name, ext] of cases) t.equal(extensionOf(name), ext, `${JSON.stringify(name)} → ${String(ext)}`)
  t.end()
})

t.test('contentTypeForFilename infers the type from the extension, else application/octet-stream', (t) => {
  const cases: Array<[string, string]> = [
    ['a.png', 'image/png'],
    ['a.jpg', 'image/jpeg'],
    ['a.JPEG', 'image/jpeg'],
    ['a.pdf', 'application/pdf'],
    ['a.svg', 'image/svg+xml'],
    ['a.htm', 'text/html'],
    ['a.html', 'text/html'],
    ['a.xml', 'application/xml'],
    ['a.txt', 'text/plain'],
    ['a.mp4', 'video/mp4'],
    ['a.mp3', 'audio/mpeg'],
    ['a.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['a.unknownext', DEFAULT_CONTENT_TYPE],
    ['noext', DEFAULT_CONTENT_TYPE],
    ['.png', DEFAULT_CONTENT_TYPE],
  ]
  for (const [name, type] of cases) t.equal(contentTypeForFilename(name), type, `${name} → ${type}`)
  t.equal(DEFAULT_CONTENT_TYPE, 'application/octet-stream')
  t.end()
})

t.test('keyExtensionFor prefers the type\'s usual extension, then the name\'s, then none', (t) => {
  const cases: Array<[string, string, string]> = [
    ['image/jpeg', 'photo.jpeg', '.jpg'],
    ['image/png', 'no extension', '.png'],
    ['application/pdf', 'report.exe', '.pdf'],
    ['application/octet-stream', 'data.PDF', '.pdf'],
    ['application/x-custom', 'dump.bin', '.bin'],
    ['application/octet-stream', 'noext', ''],
    ['application/octet-stream', '../../etc/passwd', ''],
    ['application/octet-stream', 'x.abcdefghij1234567', ''],
  ]
  for (const [type, name, ext] of cases) t.equal(keyExtensionFor(type, name), ext, `${type} + ${JSON.stringify(name)} → ${JSON.stringify(ext)}`)

  const nasty = ['a"b.txt', 'x\r\n.y', 'back\\slash.Z', '報告.PDF', 'a.b.c.D', '..', '.', '/', 'x.😀', 'x.p%2Fq']
  for (const name of nasty) t.match(keyExtensionFor('application/octet-stream', name), /^(\.[a-z0-9]{1,16})?$/, `${JSON.stringify(name)} gives a key-safe extension`)
  t.end()
})

t.test('isContentTypeAllowed: an empty list allows any type', (t) => {
  for (const type of ['image/png', 'text/html', 'application/octet-stream', 'x/y']) t.ok(isContentTypeAllowed(type, []), type)
  t.end()
})

t.test('isContentTypeAllowed matches exact types', (t) => {
  const allowed = ['application/pdf', 'text/plain']
  t.ok(isContentTypeAllowed('application/pdf', allowed))
  t.ok(isContentTypeAllowed('text/plain', allowed))
  t.ok(isContentTypeAllowed('APPLICATION/PDF', allowed), 'types are compared case-insensitively')
  for (const type of ['application/pdfx', 'application/x-pdf', 'application/', 'text/plain2', 'text/html', 'image/png', '']) {
    t.notOk(isContentTypeAllowed(type, allowed), `refuses ${JSON.stringify(type)}`)
  }
  t.end()
})

t.test('isContentTypeAllowed matches type/* patterns by top-level type', (t) => {
  const allowed = ['image/*', 'application/pdf']
  for (const type of ['image/png', 'image/jpeg', 'image/svg+xml', 'Image/PNG', 'application/pdf']) t.ok(isContentTypeAllowed(type, allowed), `allows ${type}`)
  for (const type of ['imagex/png', 'text/plain', 'application/image', 'application/zip', 'video/mp4']) t.notOk(isContentTypeAllowed(type, allowed), `refuses ${type}`)
  t.end()
})

t.test('isInlineSafe allows only types a browser renders without running uploaded code', (t) => {
  const inline = [
    'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'video/mp4', 'video/webm',
    'audio/mpeg', 'audio/ogg', 'audio/wav', 'IMAGE/PNG',
  ]
  for (const type of inline) t.ok(isInlineSafe(type), `${type} may be inline`)

  const never = [
    'text/html', 'TEXT/HTML', 'application/xhtml+xml', 'image/svg+xml', 'application/xml', 'text/xml',
    'text/javascript', 'application/javascript', 'text/css', 'application/json', 'application/octet-stream',
    'application/x-unknown', 'unknown/unknown', '', 'text/plain-html', 'application/pdf+xml', 'text/html; charset=utf-8',
    'image/png\ntext/html',
    // Text cannot be sniffed, so it is never inline; nor are audio and video types the sniffer cannot verify.
    'text/plain', 'text/csv', 'text/markdown', 'audio/x-made-up', 'video/x-made-up',
  ]
  for (const type of never) t.notOk(isInlineSafe(type), `${JSON.stringify(type)} is never inline`)
  t.end()
})

t.test('CONTENT_TYPE_PATTERN accepts bare types and refuses parameters and junk', (t) => {
  const pattern = new RegExp(CONTENT_TYPE_PATTERN)
  for (const type of ['image/png', 'application/vnd.ms-excel', 'image/svg+xml']) t.ok(pattern.test(type), type)
  for (const type of ['image/png; charset=x', 'image', 'image/', '/png', 'a/b/c', 'text/plain\r\nX: y', '']) t.notOk(pattern.test(type), JSON.stringify(type))
  t.end()
})
