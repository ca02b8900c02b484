// Against the embedded s3rver, which enforces no policy, confirm itself rejects and deletes what the policy forbade.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { EMBEDDED_CREDENTIALS, startEmbeddedStore } from '../../src/storage/embedded-s3.js'
import { bearer, listKeys, postToS3, s3ClientFor, TEST_JWT_SECRET } from '../helper.js'

t.test('confirm rejects what s3rver let through', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'filegate-s3rver-'))
  const store = await startEmbeddedStore({ bucket: 'embedded', port: 0, directory, corsOrigins: [] })
  t.teardown(async () => { await store.close(); await rm(directory, { recursive: true, force: true }) })
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_BUCKET: 'embedded', S3_ENDPOINT: store.endpoint, S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: EMBEDDED_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMBEDDED_CREDENTIALS.secretAccessKey,
    JWT_SECRET: TEST_JWT_SECRET, MAX_FILE_SIZE: '1KiB', ALLOWED_CONTENT_TYPES: 'image/png,text/plain',
  })
  const app = await buildApp(config)
  t.teardown(() => app.close())
  const s3 = s3ClientFor({ endpoint: store.endpoint, region: 'us-east-1', ...EMBEDDED_CREDENTIALS })
  t.teardown(() => s3.destroy())

  const cases = [
    { name: 'an oversized upload', body: 'x'.repeat(2000), fields: {}, reason: /2000 bytes, over the limit of 1024/ },
    { name: 'a wrong-type upload', body: '<script>alert(1)</script>', fields: { 'Content-Type': 'text/html' }, reason: /text\/html is not allowed/ },
  ]
  for (const c of cases) {
    const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'note.txt' } })).json<{ url: string, key: string, fields: Record<string, string> }>()
    const upload = await postToS3(grant, c.body, { fields: c.fields })
    t.ok(upload.status < 300, `${c.name}: s3rver accepts it (${upload.status})`)
    await s3.send(new HeadObjectCommand({ Bucket: 'embedded', Key: grant.key }))
    const confirm = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
    t.equal(confirm.statusCode, 422, `${c.name}: 422`)
    t.equal(confirm.json().code, 'UPLOAD_REJECTED')
    t.match(confirm.json().message, c.reason, 'the message says why')
    t.notOk((await listKeys(s3, 'embedded')).includes(grant.key), `${c.name}: the object was deleted`)
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).json().code, 'UPLOAD_NOT_FOUND', 'a retry finds nothing')
  }

  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'fine.txt' } })).json<{ url: string, key: string, fields: Record<string, string> }>()
  t.ok((await postToS3(grant, 'fine')).status < 300)
  const first = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  t.equal(first.statusCode, 201, 'a conforming upload is recorded')
  const again = await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })
  t.equal(again.statusCode, 200, 'and confirming again is idempotent even without conditional writes')
  t.same(again.json(), first.json())
  t.equal((await listKeys(s3, 'embedded')).filter((k) => k.startsWith('_filegate/records/')).length, 1, 'one record')
})
