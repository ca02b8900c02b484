// Webhook failures on a real receiver: down for a while (every event arrives, same webhook-id), 429 with Retry-After, a redirect not followed, dead letters and `npm run events -- replay-dead`.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { DEAD_PREFIX } from '../../src/events/event-model.js'
import { buildTestApp, listKeys, testS3, testS3Env } from '../helper.js'
import { EVENTS_ENV } from '../support/events.js'
import { confirm, uploadFile } from '../support/flow.js'
import { startReceiver, TEST_WEBHOOK_SECRET, type Answer } from '../support/webhook-receiver.js'

const run = promisify(execFile)

t.test('the receiver refuses connections for a while, then comes up: every event arrives, with the id it was first tried with', async (t) => {
  const receiver = await startReceiver(t)
  const tried = new Map<string, number>()
  const { app } = await buildTestApp(t, { ...EVENTS_ENV, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_RETRY_SCHEDULE: '300ms,500ms,1s,1s,2s,2s' }, {
    beforeReady: (app) => app.events.runner.addObserver({ retried: ({ event }) => tried.set(event.id, (tried.get(event.id) ?? 0) + 1) }),
  })
  await receiver.down()
  const grants = await Promise.all([1, 2, 3].map(async (n) => await uploadFile(app, 'alice', `file ${n}`)))
  for (const grant of grants) t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  const deadline = Date.now() + 30_000
  while (tried.size < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(tried.size, 3, 'each event was tried and refused while the receiver was down')
  await receiver.up()
  await receiver.until('three deliveries', (r) => r.length >= 3)
  const ids = receiver.requests.map((r) => String(r.headers['webhook-id']))
  t.same(new Set(ids), new Set(tried.keys()), 'the delivered webhook-ids are the ones first tried')
  t.equal(new Set(ids).size, 3, 'one delivery each')
})

t.test('429 with Retry-After: 2 is honoured; a redirect is not followed and counts as a failure', async (t) => {
  const receiver = await startReceiver(t)
  let calls = 0
  receiver.answer = (request): Answer => {
    if (request.path !== '/hook') return { status: 500 }
    calls++
    if (calls === 1) return { status: 429, headers: { 'retry-after': '2' } }
    if (calls === 2) return { status: 302, headers: { location: `http://127.0.0.1:${receiver.port}/elsewhere` } }
    return { status: 204 }
  }
  const { app } = await buildTestApp(t, { ...EVENTS_ENV, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms' })
  const grant = await uploadFile(app, 'alice', 'slow down')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  await receiver.until('three requests', (r) => r.length >= 3)
  const [first, second, third] = receiver.requests
  if (first === undefined || second === undefined || third === undefined) throw new Error('missing requests')
  const waited = second.at - first.at
  t.ok(waited >= 1900, `the retry after a 429 with Retry-After: 2 came ${waited} ms later (at least 2 s; the schedule says 100 ms)`)
  t.ok(waited < 15_000, 'and not much later')
  t.equal(third.path, '/hook', 'after the 302 the event went to the configured URL again, not to Location')
  t.notOk(receiver.requests.some((r) => r.path === '/elsewhere'), 'the redirect was never followed')
  t.ok(third.at - second.at < 10_000, 'the 302 was retried on the schedule, as a failure')
  t.equal(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id throughout')
})

t.test('an endpoint that always fails: the event is dead-lettered after the configured attempts, and replay-dead sends it again', async (t) => {
  const receiver = await startReceiver(t)
  receiver.answer = () => ({ status: 500 })
  const env = { ...EVENTS_ENV, WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_RETRY_SCHEDULE: '100ms,100ms' }
  const { app, s3, bucket } = await buildTestApp(t, env)
  const grant = await uploadFile(app, 'alice', 'never accepted')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  const deadline = Date.now() + 30_000
  while ((await listKeys(s3, bucket, DEAD_PREFIX)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal((await listKeys(s3, bucket, DEAD_PREFIX)).length, 1, 'the event is in the dead-letter prefix')
  t.equal(receiver.requests.length, 3, 'after exactly 3 attempts (2 retries configured)')
  await app.close()

  receiver.answer = () => ({ status: 204 })
  const cli = { ...process.env, ...testS3Env(testS3()), ...env, S3_BUCKET: bucket, LOG_LEVEL: 'silent' }
  const listed = await run(process.execPath, ['--import', 'tsx', 'src/cli/events.ts', 'list-dead'], { env: cli, timeout: 60_000 })
  t.match(listed.stdout, /"last_error":"the receiver answered 500"/, 'list-dead prints the dead letter with its error')
  const replay = await run(process.execPath, ['--import', 'tsx', 'src/cli/events.ts', 'replay-dead'], { env: cli, timeout: 60_000 })
  t.same(JSON.parse(replay.stdout), { replayed: 1, delivered: 1, retrying: 0 })
  t.equal(receiver.requests.length, 4, 'the receiver got it again')
  t.equal(receiver.requests[3]?.headers['webhook-id'], receiver.requests[0]?.headers['webhook-id'], 'with the same webhook-id')
  t.same(await listKeys(s3, bucket, DEAD_PREFIX), [], 'the dead letter is gone')
})
