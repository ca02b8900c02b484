// Tests upload key layouts: parseUploadKey accepts exactly the keys filegate issues and refuses everything else.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { newFileId } from '../../src/uploads/file-id.js'
import { encodeOwner } from '../../src/uploads/owner-encoding.js'
import { datePathFor, dateLayout, keyLayouts, ownerLayout, parseUploadKey, type KeyLayout } from '../../src/uploads/key-layout.js'

const PREFIX = 'uploads/'
const GRANTED = Date.UTC(2024, 1, 29, 23, 59, 59, 999)
const ID = newFileId(GRANTED)
const V4 = '3b241101-e2bb-4255-8caf-4136c566a962'

const accepts = (t: Test, key: string, prefix: string, layout: KeyLayout, id: string, ext: string, what: string) =>
  t.same(parseUploadKey(key, prefix, layout), { ok: true, id, ext }, `accepts ${what}: ${JSON.stringify(key)}`)

const refuses = (t: Test, key: string, prefix: string, layout: KeyLayout, what: string) => {
  const parsed = parseUploadKey(key, prefix, layout)
  t.equal(parsed.ok, false, `refuses ${what}: ${JSON.stringify(key)}`)
  if (!parsed.ok) t.match(parsed.reason, /\S/, `${what}: says why`)
}

t.test('datePathFor is the UTC day of a time', (t) => {
  t.equal(datePathFor(Date.UTC(2024, 1, 29, 23, 59, 59, 999)), '2024/02/29')
  t.equal(datePathFor(Date.UTC(2024, 2, 1)), '2024/03/01')
  t.equal(datePathFor(Date.UTC(1999, 11, 31, 12)), '1999/12/31')
  t.equal(datePathFor(0), '1970/01/01')
  t.end()
})

t.test('the layouts are the ones configuration names', (t) => {
  t.equal(keyLayouts.date, dateLayout)
  t.equal(keyLayouts.owner, ownerLayout)
  t.equal(dateLayout.name, 'date')
  t.equal(ownerLayout.name, 'owner')
  t.end()
})

t.test('the date layout puts the id\'s UTC day before <id><ext>', (t) => {
  t.equal(dateLayout.keyFor({ id: ID, ext: '.pdf', owner: 'alice' }), `2024/02/29/${ID}.pdf`)
  t.equal(ownerLayout.keyFor({ id: ID, ext: '.pdf', owner: 'alice' }), `${encodeOwner('alice')}/${ID}.pdf`)
  t.end()
})

for (const layout of [dateLayout, ownerLayout]) {
  t.test(`${layout.name} layout: parseUploadKey accepts every key the layout issues`, (t) => {
    const times = [0, Date.UTC(2000, 0, 1), GRANTED, Date.UTC(2024, 2, 1), Date.now()]
    const exts = ['', '.pdf', '.jpg', '.tar', '.abcdefghij123456']
    const owners = ['alice', 'user@example.com', '報告 😀', 'a/b/../c', '..', ' ', 'auth0|5f7c8ec7c33c6c004bbafe82']
    const prefixes = [PREFIX, 'tenant-a/files/', 'a.b_c-d/']
    for (const time of times) {
      const id = newFileId(time)
      for (const ext of exts) accepts(t, PREFIX + layout.keyFor({ id, ext, owner: 'alice' }), PREFIX, layout, id, ext, `time ${time}, ext ${JSON.stringify(ext)}`)
    }
    for (const owner of owners) accepts(t, PREFIX + layout.keyFor({ id: ID, ext: '.png', owner }), PREFIX, layout, ID, '.png', `owner ${JSON.stringify(owner)}`)
    for (const prefix of prefixes) accepts(t, prefix + layout.keyFor({ id: ID, ext: '.txt', owner: 'bob' }), prefix, layout, ID, '.txt', `prefix ${prefix}`)
    t.end()
  })

  t.test(`${layout.name} layout: parseUploadKey refuses keys filegate never issues`, (t) => {
    const key = PREFIX + layout.keyFor({ id: ID, ext: '.pdf', owner: 'alice' })
    const rest = key.slice(PREFIX.length)
    const dirs = rest.slice(0, rest.lastIndexOf('/'))
    const file = `${ID}.pdf`
    const cases: Array<[string, string]> = [
      ['another prefix', `other/${rest}`],
      ['a prefix that only starts the same', `uploads-old/${rest}`],
      ['the prefix without its slash', `uploads${rest}`],
      ['a leading slash', `/${key}`],
      ['the prefix nested deeper', `x/${key}`],
      ['a .. segment before the file', `${PREFIX}${dirs}/../${file}`],
      ['a .. segment that climbs out of the prefix', `${PREFIX}../${rest}`],
      ['a .. segment in place of a directory', `${PREFIX}${dirs.replace(/[^/]+$/, '..')}/${file}`],
      ['a . segment', `${PREFIX}${dirs}/./${file}`],
      ['a . segment right after the prefix', `${PREFIX}./${rest}`],
      ['an empty segment after the prefix', `${PREFIX}/${rest}`],
      ['an empty segment before the file', `${PREFIX}${dirs}//${file}`],
      ['a trailing slash', `${key}/`],
      ['no file name', `${PREFIX}${dirs}/`],
      ['no id', `${PREFIX}${dirs}/.pdf`],
      ['a name instead of an id', `${PREFIX}${dirs}/report.pdf`],
      ['only the directories', `${PREFIX}${dirs}`],
      ['only the prefix', PREFIX],
      ['a v4 UUID instead of the v7 id', `${PREFIX}${dirs}/${V4}.pdf`],
      ['a random v4 UUID', `${PREFIX}${dirs}/${randomUUID()}`],
      ['an uppercase id', `${PREFIX}${dirs}/${ID.toUpperCase()}.pdf`],
      ['an id without dashes', `${PREFIX}${dirs}/${ID.replaceAll('-', '')}.pdf`],
      ['a truncated id', `${PREFIX}${dirs}/${ID.slice(0, -1)}.pdf`],
      ['something before the id', `${PREFIX}${dirs}/x${file}`],
      ['an uppercase extension', `${PREFIX}${dirs}/${ID}.PDF`],
      ['a mixed-case extension', `${PREFIX}${dirs}/${ID}.Pdf`],
      ['an extension over 16 characters', `${PREFIX}${dirs}/${ID}.abcdefghij1234567`],
      ['two extensions', `${PREFIX}${dirs}/${ID}.tar.gz`],
      ['an empty extension', `${PREFIX}${dirs}/${ID}.`],
      ['an extension with punctuation', `${PREFIX}${dirs}/${ID}.p-f`],
      ['a non-ASCII extension', `${PREFIX}${dirs}/${ID}.pdé`],
      ['a backslash separator', `${PREFIX}${dirs}\\${file}`],
      ['a backslash in the file name', `${key}\\`],
      ['a backslash .. segment', `${PREFIX}${dirs}/..\\${file}`],
      ['a NUL', `${key}\0`],
      ['a NUL before the extension', `${PREFIX}${dirs}/${ID}\0.pdf`],
      ['a line feed', `${PREFIX}${dirs}/\n${file}`],
      ['a carriage return', `${key}\r`],
      ['a tab', `${PREFIX}${dirs}/${file}\t`],
      ['a DEL', `${PREFIX}\x7f${rest}`],
      ['a space', `${key} `],
      ['the empty string', ''],
    ]
    for (const [what, bad] of cases) refuses(t, bad, PREFIX, layout, what)
    t.end()
  })
}

t.test('date layout: the date segments must be the id\'s own UTC day', (t) => {
  const file = `${ID}.pdf`
  const cases: Array<[string, string]> = [
    ['the next day (local time east of UTC)', `${PREFIX}2024/03/01/${file}`],
    ['the previous day', `${PREFIX}2024/02/28/${file}`],
    ['another year', `${PREFIX}2023/02/29/${file}`],
    ['an unpadded month and day', `${PREFIX}2024/2/29/${file}`],
    ['no date', `${PREFIX}${file}`],
    ['only year and month', `${PREFIX}2024/02/${file}`],
    ['an extra segment', `${PREFIX}2024/02/29/x/${file}`],
    ['an extra segment in front', `${PREFIX}x/2024/02/29/${file}`],
    ['year and day swapped', `${PREFIX}29/02/2024/${file}`],
    ['an owner segment', `${PREFIX}${encodeOwner('alice')}/${file}`],
    ['a v4 UUID under a plausible date', `${PREFIX}2024/02/29/${V4}.pdf`],
  ]
  for (const [what, bad] of cases) refuses(t, bad, PREFIX, dateLayout, what)
  accepts(t, `${PREFIX}2024/02/29/${file}`, PREFIX, dateLayout, ID, '.pdf', 'the right day')
  t.end()
})

t.test('owner layout: exactly one base64url owner segment', (t) => {
  const file = `${ID}.pdf`
  const cases: Array<[string, string]> = [
    ['no owner segment', `${PREFIX}${file}`],
    ['two owner segments', `${PREFIX}${encodeOwner('alice')}/${encodeOwner('bob')}/${file}`],
    ['a date instead of an owner', `${PREFIX}2024/02/29/${file}`],
    ['standard base64 padding', `${PREFIX}YWxpY2U=/${file}`],
    ['standard base64 characters', `${PREFIX}a+b/${file}`],
    ['a dot in the owner', `${PREFIX}a.b/${file}`],
    ['a raw e-mail owner', `${PREFIX}user@example.com/${file}`],
    ['a non-ASCII owner', `${PREFIX}報告/${file}`],
  ]
  for (const [what, bad] of cases) refuses(t, bad, PREFIX, ownerLayout, what)
  t.end()
})
