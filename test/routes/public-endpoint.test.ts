// S3_PUBLIC_ENDPOINT: signed URLs name the public host and still verify, while filegate's own calls use the internal one.
import t from 'tap'
import { bearer, buildTestApp, postToS3, testS3 } from '../helper.js'

t.test('URLs carry the public host and work through it', async (t) => {
  const internal = new URL(testS3().endpoint)
  t.equal(internal.hostname, '127.0.0.1', 'the test store is addressed by IP internally')
  const publicEndpoint = `http://localhost:${internal.port}`
  const { app } = await buildTestApp(t, { S3_PUBLIC_ENDPOINT: publicEndpoint })

  const grant = (await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'public.txt' } })).json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  t.equal(new URL(grant.url).host, `localhost:${internal.port}`, 'the upload URL names the public host')
  t.equal((await postToS3(grant, 'through the public host')).status, 204, 'and S3 accepts the POST through it')
  t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer('alice') })).statusCode, 201, 'confirm reaches S3 through the internal host')

  const { download_url: url } = (await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer('alice') })).json<{ download_url: string }>()
  t.equal(new URL(url).host, `localhost:${internal.port}`, 'the download URL names the public host')
  const res = await fetch(url)
  t.equal(res.status, 200, 'its signature verifies')
  t.equal(await res.text(), 'through the public host')
  const viaInternal = await fetch(url.replace(`localhost:${internal.port}`, `127.0.0.1:${internal.port}`))
  await viaInternal.arrayBuffer()
  t.equal(viaInternal.status, 403, 'the host is part of the signature: the same URL on another host is refused')
})
