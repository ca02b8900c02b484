// filegate's S3 connections are kept alive: once warm, whole upload flows (grant, confirm, reads, download URL, DELETE)
// reuse their connections to S3 instead of opening new ones. Every new one costs a TCP handshake (a TLS one on AWS) on both sides.
import t from 'tap'
import { bearer, buildTestApp, postToS3, testS3 } from '../helper.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

t.test('warm, upload flows reuse their S3 connections', async (t) => {
  const store = testS3()
  const proxy = await startTcpProxy(store.endpoint)
  t.teardown(() => proxy.close())
  // filegate's own calls go through the counting proxy; the browser's POST goes to the store itself.
  const { app } = await buildTestApp(t, { S3_ENDPOINT: proxy.endpoint, S3_PUBLIC_ENDPOINT: store.endpoint })

  async function flow (owner: string): Promise<void> {
    const granted = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'note.txt' } })
    const grant = granted.json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
    t.equal((await postToS3(grant, `a note from ${owner}`)).status, 204, `${owner}: uploaded`)
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${grant.key}`, headers: bearer(owner) })).statusCode, 201, `${owner}: confirmed`)
    t.equal((await app.inject({ method: 'GET', url: `/files/${grant.file_id}`, headers: bearer(owner) })).statusCode, 200, `${owner}: record read`)
    t.equal((await app.inject({ method: 'GET', url: `/files/download/${grant.file_id}`, headers: bearer(owner) })).statusCode, 200, `${owner}: download URL`)
    t.equal((await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer(owner) })).statusCode, 204, `${owner}: deleted`)
  }

  // Warm: the pools open what a flow's parallel calls need (and the first confirm's probe of conditional writes).
  for (const owner of ['warm-1', 'warm-2']) await flow(owner)
  const warm = proxy.accepted
  for (let i = 0; i < 8; i++) await flow(`owner-${i}`)
  // Each flow opened two before HEADs kept their connections (15 in 8 flows). At most two here: on a slow machine a pooled
  // connection can sit idle past the 4 s keep-alive between the flows' parallel calls and be opened again.
  const opened = proxy.accepted - warm
  t.ok(opened <= 2, `8 more flows, one after another: ${opened} new S3 connection(s) (${warm} opened while warming up)`)
})
