// Variants through the app and the real test S3: a rotated thumbnail without metadata, a bomb that makes none, and 404s.
import sharp from 'sharp'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { bearer, buildTestApp, listKeys, postToS3 } from '../helper.js'
import { tinyPng } from '../support/fixtures.js'
import { PLACE, photoWithGps, pngBomb, webpChunks } from '../support/images.js'

const ENV = { VARIANTS: 'thumb:256,preview:1024', EVENTS_POLL_INTERVAL: '200ms', RATE_LIMIT_ENABLED: 'false', MAX_FILE_SIZE: '4MiB' }

async function confirmed (app: FastifyInstance, owner: string, filename: string, body: Uint8Array): Promise<string> {
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  if ((await postToS3(grant, body)).status !== 204) throw new Error('S3 refused the upload')
  const res = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })
  if (res.statusCode !== 201) throw new Error(`confirm answered ${res.statusCode}: ${res.body}`)
  return grant.file_id
}

/** Polls the record until `done` says so, within 30 s. */
async function recordWhen (app: FastifyInstance, owner: string, id: string, done: (record: { variants?: unknown[] }) => boolean) {
  const deadline = Date.now() + 30_000
  for (;;) {
    const record = (await app.inject({ method: 'GET', url: `/files/${id}`, headers: bearer(owner) })).json<{ variants?: Array<{ name: string, width: number, height: number, key: string }> }>()
    if (done(record) || Date.now() > deadline) return record
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('a JPEG with GPS and orientation 6: the thumbnail is upright, within bounds, and names no place', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, ENV)
  const id = await confirmed(app, 'alice', 'holiday.jpg', await photoWithGps())
  const record = await recordWhen(app, 'alice', id, (r) => r.variants !== undefined)
  t.match(record.variants, [{ name: 'thumb', width: 128, height: 256 }, { name: 'preview', width: 200, height: 400 }], 'both variants, listed in the record')

  const res = await app.inject({ method: 'GET', url: `/files/download/${id}?variant=thumb&disposition=inline`, headers: bearer('alice') })
  t.equal(res.statusCode, 200)
  const file = await fetch(res.json<{ download_url: string }>().download_url)
  t.equal(file.headers.get('content-type'), 'image/webp')
  t.match(file.headers.get('content-disposition'), /^inline; filename="holiday-thumb.webp"/)
  const thumb = Buffer.from(await file.arrayBuffer())
  const meta = await sharp(thumb).metadata()
  t.same([meta.format, meta.width, meta.height], ['webp', 128, 256], 'rotated upright and within 256 × 256')
  t.same([meta.exif, meta.xmp, meta.icc, meta.iptc], [undefined, undefined, undefined, undefined], 'no EXIF, XMP, ICC or IPTC')
  t.ok(webpChunks(thumb).every((c) => ['VP8 ', 'VP8L', 'VP8X'].includes(c)), `only image chunks (${webpChunks(thumb).join(', ')})`)
  t.notOk(thumb.includes(Buffer.from(PLACE)) || thumb.includes(Buffer.from('GPS')), 'the place and GPS appear nowhere')
  t.ok((await listKeys(s3, bucket, `_filegate/variants/${id}/`)).length === 2, 'written under _filegate/variants/')

  t.equal((await app.inject({ method: 'DELETE', url: `/files/${id}`, headers: bearer('alice') })).statusCode, 204)
  t.same(await listKeys(s3, bucket, `_filegate/variants/${id}/`), [], 'a DELETE removes the variants')
})

t.test('a decompression bomb makes no variant, the upload stands, and memory stays bounded', async (t) => {
  const { app } = await buildTestApp(t, ENV)
  const rss = process.memoryUsage().rss
  const bomb = await confirmed(app, 'alice', 'bomb.png', pngBomb())
  // A real PNG after it: once its variants exist, the bomb's job has run too (one runner, in order of events).
  const after = await confirmed(app, 'alice', 'after.png', tinyPng())
  t.ok((await recordWhen(app, 'alice', after, (r) => r.variants !== undefined)).variants !== undefined, 'a later image gets its variants')
  const record = await recordWhen(app, 'alice', bomb, () => false)
  t.equal(record.variants, undefined, 'the bomb has none')
  t.equal((await app.inject({ method: 'GET', url: `/files/download/${bomb}`, headers: bearer('alice') })).statusCode, 200, 'the upload itself stands and downloads')
  const grown = process.memoryUsage().rss - rss
  t.ok(grown < 300 * 1024 * 1024, `the process grew by ${Math.round(grown / 1048576)} MiB (its pixels would take 7 GiB)`)
})

t.test('?variant= on a file without that variant is 404, on another owner\'s file 404', async (t) => {
  const { app } = await buildTestApp(t, ENV)
  const text = await confirmed(app, 'alice', 'notes.txt', Buffer.from('no pictures here'))
  const missing = await app.inject({ method: 'GET', url: `/files/download/${text}?variant=thumb`, headers: bearer('alice') })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json<{ code: string }>().code, 'VARIANT_NOT_FOUND')
  const png = await confirmed(app, 'alice', 'p.png', tinyPng())
  await recordWhen(app, 'alice', png, (r) => r.variants !== undefined)
  t.equal((await app.inject({ method: 'GET', url: `/files/download/${png}?variant=thumb`, headers: bearer('alice') })).statusCode, 200, 'the owner gets it')
  t.equal((await app.inject({ method: 'GET', url: `/files/download/${png}?variant=huge`, headers: bearer('alice') })).statusCode, 404, 'an unknown name is 404')
  const foreign = await app.inject({ method: 'GET', url: `/files/download/${png}?variant=thumb`, headers: bearer('bob') })
  t.equal(foreign.statusCode, 404)
  t.equal(foreign.json<{ code: string }>().code, 'FILE_NOT_FOUND', 'another owner\'s file answers as a missing one')
})
