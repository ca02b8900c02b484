// Tests file ids: new ids are UUID v7, sort by time, carry their timestamp, and isFileId accepts nothing else.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { FILE_ID_PATTERN, fileIdTime, isFileId, newFileId } from '../../src/uploads/file-id.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const TIMES = [
  0,
  1,
  Date.UTC(2001, 8, 9, 1, 46, 40),
  Date.UTC(2024, 1, 29, 23, 59, 59, 999),
  Date.UTC(2024, 2, 1, 0, 0, 0, 0),
  Date.now(),
  2 ** 48 - 1,
]

t.test('newFileId returns a lowercase UUID v7 with the RFC 9562 variant', (t) => {
  for (const time of TIMES) {
    const id = newFileId(time)
    t.match(id, UUID_V7, `id for ${time} is a v7 UUID`)
    t.ok(isFileId(id), `isFileId accepts the id for ${time}`)
    t.ok(new RegExp(FILE_ID_PATTERN).test(id), 'FILE_ID_PATTERN accepts it too')
  }
  t.match(newFileId(), UUID_V7, 'the default clock gives a v7 UUID')
  t.end()
})

t.test('fileIdTime gives back the time the id was made at', (t) => {
  for (const time of TIMES) t.equal(fileIdTime(newFileId(time)), time, `round-trips ${time}`)
  const before = Date.now()
  const id = newFileId()
  const after = Date.now()
  const time = fileIdTime(id)
  t.ok(time >= before && time <= after, 'an id made with the default clock carries the current time')
  t.end()
})

t.test('ids made at later times sort after ids made at earlier times', (t) => {
  const base = Date.UTC(2025, 0, 1)
  const times = [0, 1, 2, 255, 256, 65_535, 65_536, 1_000_000, 3_600_000, 86_400_000, 10 ** 11].map((d) => base + d)
  const ids = times.map((time) => newFileId(time))
  const shuffled = [...ids].reverse()
  t.same([...shuffled].sort(), ids, 'string order is time order')
  t.same(ids.map((id) => fileIdTime(id)), times, 'each id carries its own time')
  t.end()
})

t.test('ids made in the same millisecond are distinct', (t) => {
  const time = Date.UTC(2025, 5, 1)
  const ids = new Set(Array.from({ length: 2000 }, () => newFileId(time)))
  t.equal(ids.size, 2000)
  t.end()
})

t.test('isFileId rejects v4 UUIDs and anything that is not exactly a lowercase v7 UUID', (t) => {
  const v7 = newFileId(Date.UTC(2025, 0, 1))
  const rejected: Array<[string, string]> = [
    ['a v4 UUID', randomUUID()],
    ['a fixed v4 UUID', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['the nil UUID', '00000000-0000-0000-0000-000000000000'],
    ['the max UUID', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
    ['a v1 UUID', 'c232ab00-9414-11ec-b3c8-9f6bdeced846'],
    ['a v7 UUID with the wrong variant', v7.slice(0, 19) + 'c' + v7.slice(20)],
    ['an uppercase v7 UUID', v7.toUpperCase()],
    ['a v7 UUID in braces', `{${v7}}`],
    ['a v7 UUID without dashes', v7.replaceAll('-', '')],
    ['a v7 UUID with a trailing newline', `${v7}\n`],
    ['a v7 UUID with a leading space', ` ${v7}`],
    ['a v7 UUID with an extension', `${v7}.pdf`],
    ['a truncated v7 UUID', v7.slice(0, -1)],
    ['a v7 UUID with a non-hex digit', v7.slice(0, -1) + 'g'],
    ['the empty string', ''],
    ['junk', 'not-a-file-id'],
    ['a path', `../${v7}`],
  ]
  for (const [what, text] of rejected) t.notOk(isFileId(text), `rejects ${what}`)
  t.ok(isFileId(v7), 'and still accepts the v7 id the cases were made from')
  t.end()
})
