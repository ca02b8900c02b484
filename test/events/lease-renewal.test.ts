// A job longer than the claim's lease (a scan of a large file): its dispatcher renews the claim while it runs, so a
// second dispatcher polling the same bucket never starts it; once it ends, the claim is gone with the event.
import t from 'tap'
import type { Consumer } from '../../src/events/consumer.js'
import { OUTBOX_PREFIX, STATE_PREFIX, newEvent } from '../../src/events/event-model.js'
import { createJobRunner } from '../../src/events/job-runner.js'
import { buildTestApp, listKeys } from '../helper.js'
import { EVENTS_ENV } from '../support/events.js'

const LEASE_MS = 1500
const quiet = { info () {}, warn () {}, error () {} }

t.test('a job running for several leases on one dispatcher is not started by a second dispatcher on the same bucket', async (t) => {
  const { app, s3, bucket } = await buildTestApp(t, EVENTS_ENV)
  const jobs = app.events.jobs

  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const startedBy: string[] = []
  /** The same consumer in both dispatchers, as every filegate process registers the same ones; the first's runs until released. */
  const slow = (who: string): Consumer => ({
    name: 'slow-scan',
    types: ['file.created'],
    async handle () {
      startedBy.push(who)
      if (who === 'first') await released
    },
  })
  const runner = (who: string) => {
    const r = createJobRunner({ jobs, retryDelaysMs: [100], leaseMs: LEASE_MS, pollIntervalMs: 3_600_000, graceMs: 0, log: quiet })
    r.register(slow(who))
    t.teardown(() => r.close())
    return r
  }
  const first = runner('first')
  const second = runner('second')

  const event = newEvent('file.created', {
    id: '0193a4b2-7c1d-7e3f-9a2b-000000000001', key: 'uploads/x/1', filename: '1.bin', content_type: 'application/octet-stream',
    size: 1, etag: 'e', uploaded_by: 'alice', is_public: false, metadata: {}, created_at: new Date().toISOString(),
  }, Date.now())
  await jobs.putEvent(event)
  const running = first.run(event.id)
  const began = Date.now()
  while (startedBy.length === 0) {
    if (Date.now() - began > 30_000) throw new Error('the first dispatcher did not start the job')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  // The second dispatcher polls the outbox for four leases while the first one's job runs.
  let polls = 0
  while (Date.now() - began < 4 * LEASE_MS) {
    await second.pollOnce({ ignoreGrace: true })
    polls++
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(polls >= 10, `the second dispatcher polled ${polls} times`)
  t.same(startedBy, ['first'], 'the job was started once, by the dispatcher that claimed it, though it ran past its lease four times')
  const state = await jobs.readState(event.id)
  t.ok(state !== undefined && state.state.holder !== null && state.state.until > Date.now(), 'the claim is still held, and ends in the future')

  release()
  await running
  await second.pollOnce({ ignoreGrace: true })
  t.same(startedBy, ['first'], 'and it is not run again once it has finished')
  t.same(await listKeys(s3, bucket, OUTBOX_PREFIX), [], 'the event is finished')
  t.same(await listKeys(s3, bucket, STATE_PREFIX), [], 'and no claim is left behind by a renewal')
})

t.test('a dispatcher that stops renewing (it died) loses the claim after the lease, and another takes the job over', async (t) => {
  const { app } = await buildTestApp(t, EVENTS_ENV)
  const jobs = app.events.jobs
  const handled: string[] = []
  const second = createJobRunner({ jobs, retryDelaysMs: [100], leaseMs: LEASE_MS, pollIntervalMs: 3_600_000, graceMs: 0, log: quiet })
  second.register({ name: 'slow-scan', types: ['file.created'], async handle (event) { handled.push(event.id) } })
  t.teardown(() => second.close())

  const event = newEvent('file.created', {
    id: '0193a4b2-7c1d-7e3f-9a2b-000000000002', key: 'uploads/x/2', filename: '2.bin', content_type: 'application/octet-stream',
    size: 1, etag: 'e', uploaded_by: 'alice', is_public: false, metadata: {}, created_at: new Date().toISOString(),
  }, Date.now())
  await jobs.putEvent(event)
  // The claim a dead dispatcher leaves: held, never renewed.
  const claimedAt = Date.now()
  t.ok(await jobs.takeState(event.id, { holder: 'dead-dispatcher', until: claimedAt + LEASE_MS, done: [], consumers: {} }, undefined))
  await second.pollOnce({ ignoreGrace: true })
  t.same(handled, [], 'not taken while the lease holds')
  while (handled.length === 0 && Date.now() - claimedAt < 10 * LEASE_MS) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    await second.pollOnce({ ignoreGrace: true })
  }
  t.same(handled, [event.id], 'taken over once the lease ran out')
  t.ok(Date.now() - claimedAt >= LEASE_MS, 'not before')
})
