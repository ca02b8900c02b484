// Served = checked: once a file is recorded, its owner's still-valid grant cannot change what a download returns.
import { createHash } from 'node:crypto'
import t from 'tap'
import { bearer, buildTestApp, listKeys, postToS3, readObject } from '../helper.js'
import { tinyPng } from '../support/fixtures.js'
import { eicar, startTestClamd } from '../support/clamd.js'
import { complete, createMultipart, partBytes, putPart, signParts } from '../support/multipart.js'

interface Grant { readonly url: string, readonly key: string, readonly fields: Record<string, string>, readonly file_id: string }

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

t.test('re-posting with the same grant after confirm never changes the downloaded bytes', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t)
  const png = Buffer.concat([tinyPng(), Buffer.from('the confirmed picture')])
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'photo.png' } })
  const grant = res.json<Grant>()
  t.equal((await postToS3(grant, png)).status, 204)
  const confirmed = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  t.equal(confirmed.statusCode, 201)

  const download = async (): Promise<{ status: number, bytes?: Buffer }> => {
    const answer = await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer('alice') })
    if (answer.statusCode !== 200) return { status: answer.statusCode }
    const file = await fetch(answer.json<{ download_url: string }>().download_url)
    return { status: file.status, bytes: Buffer.from(await file.arrayBuffer()) }
  }
  t.equal(sha256((await download()).bytes ?? Buffer.alloc(0)), sha256(png), 'the confirmed bytes download')

  // The same grant, still valid: an EICAR file that starts like a PNG, then a different valid PNG.
  const impostors = [
    ['an EICAR file declared image/png', Buffer.concat([tinyPng().subarray(0, 16), Buffer.from(eicar())])],
    ['a different valid PNG', Buffer.concat([tinyPng(), Buffer.from('another picture altogether')])],
  ] as const
  for (const [label, bytes] of impostors) {
    t.equal((await postToS3(grant, bytes)).status, 204, `${label}: S3 takes it under the grant`)
    t.equal(sha256(await readObject(s3, bucket, grant.key)), sha256(bytes), `${label}: the upload key now holds it`)
    const again = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(again.statusCode, 200, `${label}: a confirm again answers the recorded file`)
    t.same(again.json(), confirmed.json(), `${label}: unchanged`)
    const after = await download()
    t.ok(after.status !== 200 || sha256(after.bytes ?? Buffer.alloc(0)) === sha256(png), `${label}: the download returns the confirmed bytes (or is refused), never the new ones`)
    t.equal(after.status, 200, `${label}: and is still served`)
  }

  // The repeated confirms made copies of their own, which lost to the record and were removed.
  const copies = (await listKeys(s3, bucket, '_filegate/served/'))
  t.equal(copies.length, 1, `one served copy is left (${copies.join(', ')})`)

  t.equal((await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })).statusCode, 204)
  const left = await listKeys(s3, bucket)
  t.notOk(left.some((k) => k === grant.key || k.startsWith('_filegate/served/')), `DELETE removes the staging upload and the served copy (${left.join(', ')})`)
})

t.test('a completed multipart upload is served from its own key: its part URLs cannot change it any more', async (t) => {
  const { app, bucket, s3 } = await buildTestApp(t, { MAX_FILE_SIZE: '64MiB' })
  const content = Buffer.concat([tinyPng(), Buffer.alloc(6 * 1024 * 1024 - tinyPng().length, 7)])
  const created = await createMultipart(app, 'alice', { filename: 'big.png', size: content.length })
  const signed = await signParts(app, 'alice', created.file_id, Array.from({ length: created.part_count }, (_, i) => ({ number: i + 1 })))
  for (const part of signed) t.equal((await putPart(part, partBytes(content, created.part_size, part.number))).status, 200)
  const done = await complete(app, 'alice', created.file_id)
  t.equal(done.statusCode, 201)
  t.notOk('served_key' in done.body, 'the record serves the completed object itself')

  // The same part URLs, still valid, with other bytes of the same lengths: the upload they name no longer exists.
  for (const part of signed) {
    const other = Buffer.alloc(part.size, 1)
    t.not((await putPart(part, other)).status, 200, `part ${part.number}: S3 refuses a PUT to the completed upload`)
  }
  t.equal(sha256(await readObject(s3, bucket, created.key)), sha256(content), 'the object is unchanged')
  const download = (await app.inject({ method: 'GET', url: `/files/download/${created.file_id}`, headers: bearer('alice') })).json<{ download_url: string }>()
  t.equal(sha256(Buffer.from(await (await fetch(download.download_url)).arrayBuffer())), sha256(content), 'and downloads as confirmed')
})

t.test('with scanning on: a clean PNG scanned clean, then EICAR and another PNG posted with its grant change nothing served', async (t) => {
  const clamd = await startTestClamd(t)
  const { app } = await buildTestApp(t, {
    SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), EVENTS_POLL_INTERVAL: '200ms', RATE_LIMIT_ENABLED: 'false',
  })
  const png = Buffer.concat([tinyPng(), Buffer.from('scanned and clean')])
  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'photo.png' } })).json<Grant>()
  t.equal((await postToS3(grant, png)).status, 204)
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).statusCode, 201)
  const scanOf = async () => (await app.inject({ method: 'GET', url: `/files/${grant.file_id}`, headers: bearer('alice') })).json<{ scan?: { status: string } }>().scan
  const deadline = Date.now() + 30_000
  while ((await scanOf())?.status === 'pending' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(await scanOf(), { status: 'clean', scanned_at: (await scanOf() as { scanned_at?: string } | undefined)?.scanned_at }, 'scanned clean')

  for (const bytes of [Buffer.concat([tinyPng().subarray(0, 16), Buffer.from(eicar())]), Buffer.concat([tinyPng(), Buffer.from('a different picture')])]) {
    t.equal((await postToS3(grant, bytes)).status, 204, 'S3 takes other bytes under the same grant')
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).statusCode, 200)
    const answer = await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer('alice') })
    t.equal(answer.statusCode, 200, 'still served: the scan described the served copy')
    const got = Buffer.from(await (await fetch(answer.json<{ download_url: string }>().download_url)).arrayBuffer())
    t.equal(sha256(got), sha256(png), 'the confirmed, scanned bytes, never the new ones')
    t.equal((await scanOf())?.status, 'clean')
  }
})
