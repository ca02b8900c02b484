// Webhooks through a file's life on the real app and a real receiver: created, updated ×2, deleted, once each, verified by standardwebhooks (also during a secret rotation); tampering fails verification.
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import type { FileEvent } from '../../src/events/event-model.js'
import { bearer, buildTestApp } from '../helper.js'
import { EVENTS_ENV } from '../support/events.js'
import { confirm, uploadFile } from '../support/flow.js'
import { ROTATED_WEBHOOK_SECRET, startReceiver, TEST_WEBHOOK_SECRET, type ReceivedRequest } from '../support/webhook-receiver.js'

interface SignedHeaders { 'webhook-id': string, 'webhook-timestamp': string, 'webhook-signature': string }

function headersOf (request: ReceivedRequest): SignedHeaders {
  const pick = (name: string) => String(request.headers[name] ?? '')
  return { 'webhook-id': pick('webhook-id'), 'webhook-timestamp': pick('webhook-timestamp'), 'webhook-signature': pick('webhook-signature') }
}

/** What standardwebhooks makes of a request: the payload, or the error it threw. */
function verify (secret: string, body: string, headers: SignedHeaders): { ok: true, payload: unknown } | { ok: false, error: string } {
  try {
    return { ok: true, payload: new Webhook(secret).verify(body, headers) }
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) }
  }
}

for (const rotation of [false, true]) {
  t.test(`confirm, share, unshare, delete: four events, once each, verified${rotation ? ' with either secret during a rotation' : ''}`, async (t) => {
    const receiver = await startReceiver(t)
    const secrets = rotation ? [TEST_WEBHOOK_SECRET, ROTATED_WEBHOOK_SECRET] : [TEST_WEBHOOK_SECRET]
    const { app } = await buildTestApp(t, { ...EVENTS_ENV, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: secrets.join(' ') })
    const grant = await uploadFile(app, 'alice', 'a file with a life')

    t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
    t.equal((await confirm(app, 'alice', grant.key)).statusCode, 200, 'a repeated confirm')
    for (const isPublic of [true, false]) {
      t.equal((await app.inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: bearer('alice'), payload: { is_public: isPublic } })).statusCode, 200)
    }
    // Two DELETEs at once: both may get as far as writing the event.
    const deletes = await Promise.all([0, 1].map(async () => (await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })).statusCode))
    t.ok(deletes.includes(204) && deletes.every((s) => s === 204 || s === 404), `the DELETEs answered ${deletes.join(', ')}`)
    t.equal((await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })).statusCode, 404, 'a repeated DELETE')

    await receiver.until('four deliveries', (r) => r.length >= 4)
    // Anything still in the outbox (a repeated change's event) is worked on now; nothing more may arrive.
    await app.events.runner.pollOnce({ ignoreGrace: true })
    await new Promise((resolve) => setTimeout(resolve, 500))
    await app.events.runner.pollOnce({ ignoreGrace: true })
    const requests = receiver.requests
    t.equal(requests.length, 4, 'exactly four requests: no second event for the repeated confirm or DELETE')

    const types: string[] = []
    for (const request of requests) {
      const headers = headersOf(request)
      t.match(headers['webhook-signature'], rotation ? /^v1,[A-Za-z0-9+/=]+ v1,[A-Za-z0-9+/=]+$/ : /^v1,[A-Za-z0-9+/=]+$/, `one v1 signature per secret (${secrets.length})`)
      t.equal(request.headers['content-type'], 'application/json')
      for (const secret of secrets) {
        const verified = verify(secret, request.body, headers)
        t.ok(verified.ok, `standardwebhooks verifies ${headers['webhook-id']} with secret ${secrets.indexOf(secret) + 1}${verified.ok ? '' : `: ${verified.error}`}`)
      }
      t.notOk(verify(`whsec_${Buffer.from('some-other-secret-entirely-000').toString('base64')}`, request.body, headers).ok, 'another secret does not verify it')
      const payload = JSON.parse(request.body) as Omit<FileEvent, 'id'>
      t.same(Object.keys(payload).sort(), ['data', 'timestamp', 'type'], 'the body is { type, timestamp, data }')
      t.equal(payload.data.file.id, grant.file_id)
      t.ok(headers['webhook-id'].startsWith(`${payload.type}.${grant.file_id}.`), 'the webhook-id names the event type and the file')
      types.push(payload.type)
    }
    t.same(types, ['file.created', 'file.updated', 'file.updated', 'file.deleted'], 'created, updated twice, deleted, in order')
    const sharing = requests.filter((_, i) => types[i] === 'file.updated').map((r) => (JSON.parse(r.body) as FileEvent).data.file.is_public)
    t.same(sharing, [true, false], 'the updates carry the record after each change')
  })
}

t.test('a body or timestamp changed in transit fails verification', async (t) => {
  const receiver = await startReceiver(t)
  const { app } = await buildTestApp(t, { ...EVENTS_ENV, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET })
  const grant = await uploadFile(app, 'alice', 'tamper with me')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  await receiver.until('the delivery', (r) => r.length >= 1)
  const [request] = receiver.requests
  if (request === undefined) throw new Error('no request')
  const headers = headersOf(request)
  t.ok(verify(TEST_WEBHOOK_SECRET, request.body, headers).ok, 'the untouched request verifies')

  const body = Buffer.from(request.body)
  for (const position of [0, Math.floor(body.length / 2), body.length - 1]) {
    const altered = Buffer.from(body)
    altered[position] = (altered[position] ?? 0) ^ 0x01
    const result = verify(TEST_WEBHOOK_SECRET, altered.toString('latin1'), headers)
    t.notOk(result.ok, `one byte of the body changed at ${position}: refused`)
  }
  const timestamp = Number(headers['webhook-timestamp'])
  for (const shifted of [timestamp + 1, timestamp - 1]) {
    t.notOk(verify(TEST_WEBHOOK_SECRET, request.body, { ...headers, 'webhook-timestamp': String(shifted) }).ok, `the timestamp changed by ${shifted - timestamp} s: refused`)
  }
  const id = headers['webhook-id']
  t.notOk(verify(TEST_WEBHOOK_SECRET, request.body, { ...headers, 'webhook-id': `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}` }).ok, 'another webhook-id: refused')
})
