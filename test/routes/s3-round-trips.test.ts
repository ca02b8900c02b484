// S3 round trips per request, counted on the app's own clients (an SDK middleware, undici's diagnostics channels): grants cost none, reads one, confirm three.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { INTERNAL_PREFIX, ownerIndexPrefix, recordKeyFor } from '../../src/storage/record-store.js'
import { bearer, buildTestApp, postToS3 } from '../helper.js'

interface S3Call { readonly command: string, readonly key: string, readonly start: number, end: number }

/** The SDK command a request of the lean client stands for. */
const LEAN_COMMANDS: Readonly<Record<string, string>> = { GET: 'GetObjectCommand', HEAD: 'HeadObjectCommand', PUT: 'PutObjectCommand', DELETE: 'DeleteObjectCommand' }

/**
 * Records every HTTP attempt the app's S3 clients make: the SDK's (the deserialize step runs once per attempt, retries
 * included) and the lean client's (undici announces each request on its diagnostics channels), named by SDK command.
 */
function countS3Calls (app: FastifyInstance, endpoint: string, bucket: string, t: Test): { calls: S3Call[], during: (fn: () => Promise<unknown>) => Promise<S3Call[]> } {
  const calls: S3Call[] = []
  const pending = new Map<object, S3Call>()
  const origin = new URL(endpoint).origin
  const onCreate = (message: unknown) => {
    const { request } = message as { request: { origin?: unknown, method?: unknown, path?: unknown, headers?: unknown } }
    if (String(request.origin) !== origin || typeof request.path !== 'string' || typeof request.method !== 'string') return
    const prefix = `/${bucket}/`
    const key = request.path.startsWith(prefix) ? request.path.slice(prefix.length).split('/').map(decodeURIComponent).join('/') : ''
    // A PUT with x-amz-copy-source is a server-side copy (undici keeps the headers as a string or an array).
    const copy = request.method === 'PUT' && /x-amz-copy-source/i.test(String(request.headers))
    const call: S3Call = { command: copy ? 'CopyObjectCommand' : LEAN_COMMANDS[request.method] ?? request.method, key, start: performance.now(), end: Number.POSITIVE_INFINITY }
    calls.push(call)
    pending.set(request, call)
  }
  const onEnd = (message: unknown) => {
    const { request } = message as { request: object }
    const call = pending.get(request)
    if (call === undefined) return
    call.end = performance.now()
    pending.delete(request)
  }
  subscribe('undici:request:create', onCreate)
  subscribe('undici:request:trailers', onEnd)
  subscribe('undici:request:error', onEnd)
  t.teardown(() => {
    unsubscribe('undici:request:create', onCreate)
    unsubscribe('undici:request:trailers', onEnd)
    unsubscribe('undici:request:error', onEnd)
  })
  app.storage.clients.internal.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Key?: unknown }
    const call: S3Call = { command: context.commandName ?? '?', key: typeof input.Key === 'string' ? input.Key : '', start: performance.now(), end: Number.POSITIVE_INFINITY }
    calls.push(call)
    try {
      return await next(args)
    } finally {
      call.end = performance.now()
    }
  }, { step: 'deserialize', name: 'testS3CallCounter' })
  return {
    calls,
    async during (fn) {
      const from = calls.length
      await fn()
      return calls.slice(from)
    },
  }
}

/** The longest chain of calls each started after the previous one answered: the sequential round trips. */
function sequentialRounds (calls: readonly S3Call[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start)
  const depth = new Map<S3Call, number>()
  for (const call of sorted) {
    const before = sorted.filter((other) => other !== call && other.end <= call.start).map((other) => depth.get(other) ?? 0)
    depth.set(call, 1 + Math.max(0, ...before))
  }
  return Math.max(0, ...depth.values())
}

const describe = (calls: readonly S3Call[]) => calls.map((c) => `${c.command} ${c.key}`).join(', ')

async function grantAndUpload (app: FastifyInstance, owner: string): Promise<{ key: string, id: string }> {
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'note.txt' } })
  const grant = res.json<{ url: string, key: string, fields: Record<string, string>, file_id: string }>()
  const posted = await postToS3(grant, `a note from ${owner}`)
  if (posted.status !== 204) throw new Error(`S3 refused the upload: ${posted.status}`)
  return { key: grant.key, id: grant.file_id }
}

t.test('round trips to S3 per request', async (t) => {
  const { app, config, bucket } = await buildTestApp(t)
  const s3 = countS3Calls(app, config.s3.endpoint ?? '', bucket, t)

  const grantCalls = await s3.during(async () => {
    for (const owner of ['alice', 'bob', 'carol']) {
      t.equal((await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'a.pdf', metadata: { n: owner } } })).statusCode, 200)
    }
  })
  t.same(grantCalls, [], 'a grant is signed in-process: no S3 call at all')

  // The first confirm of the process may probe the store's conditional writes; no later one does.
  const first = await grantAndUpload(app, 'alice')
  const firstCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${first.key}`, headers: bearer('alice') })).statusCode, 201)
  })
  t.ok(firstCalls.some((c) => c.key.startsWith(`${INTERNAL_PREFIX}probes/`)), `the first confirm probes the store (${describe(firstCalls)})`)
  // The probe (three calls in a row) runs beside the HEAD, so it adds two round trips at most, once per process.
  t.ok(sequentialRounds(firstCalls) <= 4, `the first confirm takes at most 4 sequential round trips (took ${sequentialRounds(firstCalls)})`)

  for (const owner of ['bob', 'carol']) {
    const upload = await grantAndUpload(app, owner)
    const calls = await s3.during(async () => {
      t.equal((await app.inject({ method: 'POST', url: `/files/confirm/${upload.key}`, headers: bearer(owner) })).statusCode, 201)
    })
    t.notOk(calls.some((c) => c.key.startsWith(`${INTERNAL_PREFIX}probes/`)), `${owner}: no probe after the first confirm of the process (${describe(calls)})`)
    const copies = calls.filter((c) => c.command === 'CopyObjectCommand')
    t.equal(copies.length, 1, `${owner}: the upload is copied once`)
    const servedKey = copies[0]?.key ?? 'no copy'
    t.ok(servedKey.startsWith(`${INTERNAL_PREFIX}served/`), `${owner}: to a served key (${servedKey})`)
    const writes = calls.filter((c) => c.command === 'PutObjectCommand')
    t.same(writes.map((c) => c.key).sort(), [recordKeyFor(upload.id), writes.find((c) => c.key.startsWith(ownerIndexPrefix(owner)))?.key ?? 'no index entry written'].sort(),
      `${owner}: the record and the owner index entry are written once each`)
    const firstWrite = Math.min(...writes.map((c) => c.start))
    t.ok(calls.some((c) => c.command === 'HeadObjectCommand' && c.key === servedKey && c.end <= firstWrite), `${owner}: the copy is HEADed before anything is written`)
    t.ok(calls.some((c) => c.command === 'GetObjectCommand' && c.key === servedKey && c.end <= firstWrite), `${owner}: and its first bytes read`)
    t.notOk(calls.some((c) => c.command === 'GetObjectCommand' && c.key === upload.key), `${owner}: the upload's own bytes are never the ones checked`)
    t.notOk(calls.some((c) => c.command === 'GetObjectCommand' && c.key === recordKeyFor(upload.id)), `${owner}: a first confirm reads no record`)
    const rounds = sequentialRounds(calls)
    t.comment(`${owner}: confirm made ${calls.length} S3 calls in ${rounds} sequential round trips: ${describe(calls)}`)
    t.equal(rounds, 3, `${owner}: confirm takes 3 sequential round trips: the copy (beside the upload's HEAD), the copy's HEAD and ranged GET, then both writes at once`)
  }

  for (const [label, url] of [['download URL', `/files/download/${first.id}`], ['record', `/files/${first.id}`]] as const) {
    const calls = await s3.during(async () => {
      t.equal((await app.inject({ method: 'GET', url, headers: bearer('alice') })).statusCode, 200)
    })
    t.same(calls.map((c) => `${c.command} ${c.key}`), [`GetObjectCommand ${recordKeyFor(first.id)}`], `${label}: exactly one S3 call, the record read`)
  }
  const missing = await s3.during(async () => {
    t.equal((await app.inject({ method: 'GET', url: `/files/download/${first.id}`, headers: bearer('bob') })).statusCode, 404)
  })
  t.equal(missing.length, 1, 'another owner\'s file: one read, then 404')

  const deleteCalls = await s3.during(async () => {
    t.equal((await app.inject({ method: 'DELETE', url: `/files/${first.id}`, headers: bearer('alice') })).statusCode, 204)
  })
  // The record read; the index entry beside the burial note; the tombstone; the copy beside the upload last.
  t.equal(sequentialRounds(deleteCalls), 4, `a DELETE takes 4 sequential round trips (${describe(deleteCalls)})`)
  t.equal(deleteCalls.length, 6, 'in 6 calls')
  t.ok(s3.calls.length > 0)
})
