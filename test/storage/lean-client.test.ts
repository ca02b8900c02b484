// The lean S3 client against the SDK, call by call, on RGW and s3rver: the same results, the same filegate errors, the same retries.
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Config } from '../../src/config.js'
import { EMBEDDED_CREDENTIALS, startEmbeddedStore } from '../../src/storage/embedded-s3.js'
import { createObjectStore, createS3Clients, destroyS3Clients, type ObjectHead, type ObjectStore } from '../../src/storage/s3.js'
import { createTestBucket, s3ClientFor, testS3 } from '../helper.js'
import { startHttpFaultProxy, type HttpFaultProxy } from '../support/http-fault-proxy.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

interface Store { readonly name: string, readonly endpoint: string, readonly bucket: string, readonly accessKeyId: string, readonly secretAccessKey: string, readonly isRgw: boolean }
type Client = Config['s3']['client']
/** What a call gave: its value in comparable form, or the error's filegate code (or S3 name, untranslated). */
type Outcome = { readonly value: unknown } | { readonly error: string }

const CLIENTS: readonly Client[] = ['lean', 'sdk']

function objectStoreFor (t: Test, store: Store, client: Client, { endpoint = store.endpoint, timeoutMs = 5000, secretAccessKey = store.secretAccessKey } = {}): ObjectStore {
  const clients = createS3Clients({
    bucket: store.bucket, region: 'us-east-1', endpoint, publicEndpoint: undefined, forcePathStyle: true, timeoutMs, client,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey },
  })
  t.teardown(() => destroyS3Clients(clients))
  return createObjectStore(clients)
}

function comparable (value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('utf8') }
  if (typeof value === 'object' && value !== null && 'lastModified' in value) {
    const { lastModified, ...rest } = value as ObjectHead
    // The two runs write at different moments: that the date is a recent real one is what must agree.
    return { ...rest, recent: Math.abs(Date.now() - lastModified.getTime()) < 10 * 60_000 }
  }
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]))
  return value
}

async function outcome (call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { value: comparable(await call()) }
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
    return { error: code ?? (error instanceof Error ? error.name : String(error)) }
  }
}

/** Runs `scenario` once per client, each behind its own counting proxy and under its own key prefix; both must agree. */
async function bothClients (t: Test, store: Store, label: string, scenario: (objects: ObjectStore, proxy: HttpFaultProxy, prefix: string) => Promise<Outcome[]>, options: { secretAccessKey?: string } = {}) {
  const runs: Record<string, { outcomes: Outcome[], requests: number }> = {}
  for (const client of CLIENTS) {
    const proxy = await startHttpFaultProxy(store.endpoint)
    t.teardown(() => proxy.close())
    const objects = objectStoreFor(t, store, client, { endpoint: proxy.endpoint, ...options })
    const outcomes = await scenario(objects, proxy, `lean-test/${client}/${label.replace(/\W+/g, '-')}/`)
    runs[client] = { outcomes, requests: proxy.requests.length }
  }
  t.same(runs.lean, runs.sdk, `${store.name}, ${label}: the lean client gives the SDK's results and errors, in as many requests (${runs.sdk?.requests})`)
  return runs.lean ?? { outcomes: [], requests: 0 }
}

async function rgwStore (t: Test): Promise<Store> {
  const s3 = testS3()
  const admin = s3ClientFor(s3)
  t.teardown(() => admin.destroy())
  return { name: 'RGW', endpoint: s3.endpoint, bucket: await createTestBucket(t, admin), accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, isRgw: true }
}

async function s3rverStore (t: Test): Promise<Store> {
  const directory = await mkdtemp(join(tmpdir(), 'filegate-s3rver-'))
  const embedded = await startEmbeddedStore({ bucket: 'lean-test', port: 0, directory, corsOrigins: [] })
  t.teardown(async () => { await embedded.close(); await rm(directory, { recursive: true, force: true }) })
  return { name: 's3rver', endpoint: embedded.endpoint, bucket: 'lean-test', ...EMBEDDED_CREDENTIALS, isRgw: false }
}

const ok = (value: unknown): Outcome => ({ value: comparable(value) })

/** A streamed GET (what a scan reads) read to its end: the size S3 declared, and the bytes' length and SHA-256. */
async function streamed (objects: ObjectStore, key: string): Promise<{ size: number, length: number, sha256: string } | undefined> {
  const object = await objects.getStream(key)
  if (object === undefined) return undefined
  const hash = createHash('sha256')
  let length = 0
  for await (const chunk of object.body) {
    hash.update(chunk)
    length += chunk.length
  }
  return { size: object.size, length, sha256: hash.digest('hex') }
}
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
/** Several MiB: a streamed body of many chunks. */
const BIG = 'streamed to clamd in many chunks\n'.repeat(100_000)

for (const [name, start] of [['RGW', rgwStore], ['s3rver', s3rverStore]] as const) {
  t.test(`lean client and SDK on ${name}`, async (t) => {
    const store = await start(t)

    const written = await bothClients(t, store, 'written and read back', async (objects, _proxy, prefix) => [
      await outcome(() => objects.put(`${prefix}a.txt`, 'hello, world', { contentType: 'text/plain' })),
      await outcome(() => objects.head(`${prefix}a.txt`)),
      await outcome(() => objects.getText(`${prefix}a.txt`)),
      await outcome(() => objects.getTextAndEtag(`${prefix}a.txt`)),
      await outcome(() => objects.getRange(`${prefix}a.txt`, 5)),
      await outcome(() => objects.getRange(`${prefix}a.txt`, 100)),
      await outcome(() => streamed(objects, `${prefix}a.txt`)),
      await outcome(async () => { await objects.put(`${prefix}big.txt`, BIG, { contentType: 'text/plain' }); return await streamed(objects, `${prefix}big.txt`) }),
      // A scan that stops early (clamd away) drops the body unread: no error escapes.
      await outcome(async () => { const object = await objects.getStream(`${prefix}big.txt`); (object?.body as { destroy (): void } | undefined)?.destroy(); return object?.size }),
      await outcome(() => objects.put(`${prefix}empty`, '', { contentType: 'application/octet-stream' })),
      // s3rver never answers a ranged GET of an empty object (with either client): RGW only.
      store.isRgw ? await outcome(() => objects.getRange(`${prefix}empty`, 10)) : ok({ bytes: new Uint8Array(), etag: '' }),
      await outcome(() => objects.put(`${prefix}é ü/+ (1)!.json`, '{"a":"ü"}', { contentType: 'application/json' })),
      await outcome(() => objects.getText(`${prefix}é ü/+ (1)!.json`)),
      await outcome(() => objects.copy(`${prefix}a.txt`, `${prefix}copy/a.txt`)),
      await outcome(() => objects.head(`${prefix}copy/a.txt`)),
      await outcome(() => objects.copy(`${prefix}none`, `${prefix}copy/none`)),
      await outcome(() => objects.delete(`${prefix}a.txt`)),
      await outcome(() => objects.head(`${prefix}a.txt`)),
    ])
    t.match(written.outcomes, [ok('created'), { value: { size: 12, contentType: 'text/plain', recent: true } }, ok('hello, world'), { value: { text: 'hello, world' } },
      ok({ bytes: new TextEncoder().encode('hello') }), ok({ bytes: new TextEncoder().encode('hello, world') }),
      ok({ size: 12, length: 12, sha256: sha256('hello, world') }), ok({ size: BIG.length, length: BIG.length, sha256: sha256(BIG) }), ok(BIG.length),
      ok('created'), ok({ bytes: new Uint8Array(), etag: '' }),
      ok('created'), ok('{"a":"ü"}'), { value: { etag: /^[0-9a-f]{32}$/ } }, { value: { size: 12, contentType: 'text/plain', recent: true } }, ok(undefined),
      ok(undefined), ok(undefined)], 'the values are the expected ones (a copy keeps type and size; a missing source is undefined)')

    const missing = await bothClients(t, store, 'missing key', async (objects, _proxy, prefix) => [
      await outcome(() => objects.head(`${prefix}none`)),
      await outcome(() => objects.getText(`${prefix}none`)),
      await outcome(() => objects.getTextAndEtag(`${prefix}none`)),
      await outcome(() => objects.getRange(`${prefix}none`, 10)),
      await outcome(() => objects.getStream(`${prefix}none`)),
      await outcome(() => objects.delete(`${prefix}none`)),
    ])
    t.same(missing.outcomes, [ok(undefined), ok(undefined), ok(undefined), ok(undefined), ok(undefined), ok(undefined)], 'a missing key is undefined everywhere, and deleting it is fine')

    const conditional = await bothClients(t, store, 'conditional writes', async (objects, _proxy, prefix) => {
      const key = `${prefix}record.json`
      const first = await outcome(() => objects.put(key, '1', { contentType: 'application/json', createOnly: true }))
      const second = await outcome(() => objects.put(key, '2', { contentType: 'application/json', createOnly: true }))
      const etag = (await objects.head(key))?.etag ?? ''
      return [
        first, second,
        await outcome(() => objects.replace(key, '3', { contentType: 'application/json', ifMatch: '"00000000000000000000000000000000"' })),
        await outcome(() => objects.replace(`${prefix}gone.json`, '3', { contentType: 'application/json', ifMatch: `"${etag}"` })),
        await outcome(() => objects.getText(key)),
      ]
    })
    if (store.isRgw) {
      t.same(conditional.outcomes, [ok('created'), ok('exists'), ok('changed'), ok('changed'), ok('1')], 'RGW: create-only refuses the second write, If-Match a wrong ETag and a gone object')
    } else {
      t.same(conditional.outcomes.slice(0, 2), [ok('created'), ok('created')], 's3rver ignores If-None-Match, for both clients alike')
    }

    const denied = await bothClients(t, store, 'wrong secret', async (objects, _proxy, prefix) => [
      await outcome(() => objects.head(`${prefix}x`)),
      await outcome(() => objects.getText(`${prefix}x`)),
      await outcome(() => objects.put(`${prefix}x`, 'x', { contentType: 'text/plain' })),
    ], { secretAccessKey: 'not-the-secret-0123456789' })
    if (store.isRgw) {
      t.same(denied, { outcomes: [{ error: 'STORAGE_UNAVAILABLE' }, { error: 'STORAGE_UNAVAILABLE' }, { error: 'STORAGE_UNAVAILABLE' }], requests: 3 }, 'a wrong secret is STORAGE_UNAVAILABLE, each call sent once (a 403 is not retried)')
    }

    const retried = await bothClients(t, store, '5xx then success', async (objects, proxy, prefix) => {
      await objects.put(`${prefix}r.txt`, 'retried', { contentType: 'text/plain' })
      proxy.failNext(2, 500, 'InternalError')
      const read = await outcome(() => objects.getText(`${prefix}r.txt`))
      proxy.failNext(2, 500, 'InternalError')
      const stream = await outcome(() => streamed(objects, `${prefix}r.txt`))
      proxy.failNext(2, 503, 'ServiceUnavailable')
      const head = await outcome(async () => (await objects.head(`${prefix}r.txt`))?.size)
      proxy.failNext(1, 503, 'SlowDown')
      const put = await outcome(() => objects.put(`${prefix}s.txt`, 'throttled once', { contentType: 'text/plain', createOnly: true }))
      proxy.failNext(3, 502, 'BadGateway')
      const exhausted = await outcome(() => objects.getText(`${prefix}r.txt`))
      return [read, stream, head, put, exhausted]
    })
    t.same(retried, { outcomes: [ok('retried'), ok({ size: 7, length: 7, sha256: sha256('retried') }), ok(7), ok('created'), { error: 'STORAGE_UNAVAILABLE' }], requests: 1 + 3 + 3 + 3 + 2 + 3 },
      '5xx and throttling are retried (3 attempts in all), then STORAGE_UNAVAILABLE')

    const refused = await bothClients(t, store, '4xx not retried', async (objects, proxy, prefix) => {
      proxy.failNext(1, 400, 'InvalidArgument')
      const invalid = await outcome(() => objects.getText(`${prefix}x`))
      proxy.failNext(1, 403, 'AccessDenied')
      const forbidden = await outcome(() => objects.getText(`${prefix}x`))
      proxy.failNext(1, 403, 'AccessDenied')
      const forbiddenHead = await outcome(() => objects.head(`${prefix}x`))
      proxy.failNext(1, 404, 'NoSuchBucket')
      const noBucket = await outcome(() => objects.put(`${prefix}x`, 'x', { contentType: 'text/plain' }))
      return [invalid, forbidden, forbiddenHead, noBucket]
    })
    t.same(refused, { outcomes: [{ error: 'InvalidArgument' }, { error: 'STORAGE_UNAVAILABLE' }, { error: 'STORAGE_UNAVAILABLE' }, { error: 'STORAGE_UNAVAILABLE' }], requests: 4 },
      'a 4xx is answered at once: an unknown one as S3 named it, a refusal as STORAGE_UNAVAILABLE')

    await t.test('HEADs keep their connection alive', async (t) => {
      // undici closes the connection after a HEAD unless told otherwise; every confirm HEADs its object, so each one
      // would open a new connection (a new TLS handshake on AWS).
      const proxy = await startTcpProxy(store.endpoint)
      t.teardown(() => proxy.close())
      const objects = objectStoreFor(t, store, 'lean', { endpoint: proxy.endpoint })
      const key = 'lean-test/kept-alive'
      await objects.put(key, 'kept', { contentType: 'text/plain' })
      t.equal(await objects.getText(key), 'kept')
      const before = proxy.accepted
      for (let i = 0; i < 10; i++) {
        t.equal((await objects.head(key))?.size, 4, `HEAD ${i + 1} finds the object`)
        t.equal(await objects.head(`${key}-missing`), undefined, `HEAD ${i + 1} of a missing key`)
      }
      t.equal(await objects.getText(key), 'kept', 'a GET after them')
      await objects.delete(key)
      t.equal(proxy.accepted - before, 0, `20 HEADs one after another, then a GET and a DELETE: ${proxy.accepted - before} new connection(s) (${before} before them)`)
    })

    await t.test('stalled and killed store', async (t) => {
      const TIMEOUT_MS = 1200
      for (const client of CLIENTS) {
        const proxy = await startTcpProxy(store.endpoint)
        t.teardown(() => proxy.close())
        const objects = objectStoreFor(t, store, client, { endpoint: proxy.endpoint, timeoutMs: TIMEOUT_MS })
        t.same(await outcome(() => objects.getText('lean-test/nothing')), ok(undefined), `${client}: through the proxy`)
        proxy.stall()
        const started = performance.now()
        const stalled = await Promise.all([outcome(() => objects.getText('lean-test/nothing')), outcome(() => objects.put('lean-test/stalled', 'x', { contentType: 'text/plain' }))])
        const elapsed = performance.now() - started
        t.same(stalled, [{ error: 'STORAGE_TIMEOUT' }, { error: 'STORAGE_TIMEOUT' }], `${client}: a stalled store is STORAGE_TIMEOUT`)
        t.ok(elapsed >= TIMEOUT_MS - 100 && elapsed < TIMEOUT_MS + 1000, `${client}: after the deadline, retries included (${Math.round(elapsed)} ms of ${TIMEOUT_MS})`)
        proxy.resume()
        await proxy.stop()
        t.same(await outcome(() => objects.head('lean-test/nothing')), { error: 'STORAGE_UNAVAILABLE' }, `${client}: a killed store is STORAGE_UNAVAILABLE`)
        await proxy.start()
        t.same(await outcome(() => objects.head('lean-test/nothing')), ok(undefined), `${client}: and it recovers`)
      }
    })
  })
}
