// The outbox and job runner with a consumer registered in the test: each change makes one event, written with the change; retries, dead letters, claims, and the poll after a writer died.
import t from 'tap'
import { GiveUp, type Consumer } from '../../src/events/consumer.js'
import { OUTBOX_PREFIX, SEEN_PREFIX, STATE_PREFIX, DEAD_PREFIX, newEvent, type FileEvent } from '../../src/events/event-model.js'
import { createJobRunner } from '../../src/events/job-runner.js'
import { createUploadService } from '../../src/uploads/upload-service.js'
import { bearer, buildTestApp, listKeys, type TestApp } from '../helper.js'
import { faultyStore, isOp } from '../support/faulty-store.js'
import { EVENTS_ENV } from '../support/events.js'
import { confirm, uploadFile } from '../support/flow.js'

/** A consumer that records what it is given, and fails while `failures` says so. */
function recordingConsumer (name: string, behaviour: (event: FileEvent, attempt: number) => void = () => undefined): Consumer & { readonly seen: FileEvent[], readonly attempts: number[] } {
  const seen: FileEvent[] = []
  const attempts: number[] = []
  return {
    name,
    types: ['file.created', 'file.updated', 'file.deleted'],
    seen,
    attempts,
    async handle (event, context) {
      attempts.push(context.attempt)
      behaviour(event, context.attempt)
      seen.push(event)
    },
  }
}

async function until (what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function settled (test: TestApp): Promise<void> {
  await until('the runner to be idle', () => test.app.events.runner.busy === 0)
}

t.test('one event per change, written with it, handled once; repeats make none', async (t) => {
  const consumer = recordingConsumer('recorder')
  const test = await buildTestApp(t, EVENTS_ENV, { beforeReady: (app) => app.events.register(consumer) })
  const { app, s3, bucket } = test
  const grant = await uploadFile(app, 'alice', 'an event for every change')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 200, 'a repeated confirm')
  for (const isPublic of [true, false, false]) {
    t.equal((await app.inject({ method: 'PATCH', url: `/files/${grant.file_id}`, headers: bearer('alice'), payload: { is_public: isPublic } })).statusCode, 200)
  }
  t.equal((await app.inject({ method: 'DELETE', url: `/files/${grant.file_id}`, headers: bearer('alice') })).statusCode, 204)
  await until('four events', () => consumer.seen.length >= 4)
  await settled(test)
  await app.events.runner.pollOnce({ ignoreGrace: true })
  await settled(test)

  t.same(consumer.seen.map((e) => e.type), ['file.created', 'file.updated', 'file.updated', 'file.deleted'], 'created, shared, unshared, deleted: nothing twice')
  t.equal(new Set(consumer.seen.map((e) => e.id)).size, 4, 'four distinct event ids')
  t.same(consumer.seen.map((e) => e.data.file.is_public), [false, true, false, false])
  t.same(consumer.seen.map((e) => e.data.file.revision ?? 0), [0, 1, 2, 2], 'each change raised the revision')
  t.ok(consumer.seen.every((e) => e.data.file.id === grant.file_id))
  t.same(await listKeys(s3, bucket, OUTBOX_PREFIX), [], 'the outbox is empty once every consumer is done')
  t.same(await listKeys(s3, bucket, STATE_PREFIX), [], 'no claim is left')
  t.equal((await listKeys(s3, bucket, SEEN_PREFIX)).length, 4, 'the consumer marked each event handled')
})

t.test('a DELETE cut short after its event, then repeated, makes one file.deleted; a PATCH whose event write failed is repaired by its retry', async (t) => {
  const consumer = recordingConsumer('recorder')
  const test = await buildTestApp(t, EVENTS_ENV, { beforeReady: (app) => app.events.register(consumer) })
  const { app } = test
  const faults = faultyStore(app.storage.objects)
  const { createRecordStore } = await import('../../src/storage/record-store.js')
  const service = createUploadService({ config: test.config, clients: app.storage.clients, objects: faults.store, records: createRecordStore(faults.store, app.storage.conditional), events: app.events })
  const grant = await uploadFile(app, 'alice', 'deleted twice')
  t.equal((await service.confirmUpload('alice', grant.key)).created, true)

  // The PATCH's record write succeeds and its event write fails twice (the write and its one retry): the request fails.
  faults.failOnce(isOp('put', OUTBOX_PREFIX))
  faults.failOnce(isOp('put', OUTBOX_PREFIX))
  await t.rejects(service.setPublic('alice', grant.file_id, true), 'the PATCH fails when its event cannot be written')
  const shared = await service.setPublic('alice', grant.file_id, true)
  t.equal(shared.is_public, true, 'the retried PATCH answers the shared record')

  // The tombstone write fails: the object, index entry and event are done, the record still stands.
  faults.failOnce(isOp('put', '_filegate/records/'))
  await t.rejects(service.deleteFile('alice', grant.file_id), 'the first DELETE fails before its tombstone')
  await service.deleteFile('alice', grant.file_id)
  await until('three events', () => consumer.seen.length >= 3)
  await settled(test)
  await app.events.runner.pollOnce({ ignoreGrace: true })
  await settled(test)
  t.same(consumer.seen.map((e) => e.type), ['file.created', 'file.updated', 'file.deleted'], 'one event each: the retried PATCH wrote the missing one, the repeated DELETE made no second')
})

t.test('failures are retried on the schedule; a consumer that keeps failing dead-letters the event, others are unaffected', async (t) => {
  const flaky = recordingConsumer('flaky', (_e, attempt) => { if (attempt < 3) throw new Error(`attempt ${attempt} fails`) })
  const broken = recordingConsumer('broken', () => { throw new Error('always down') })
  const refusing = recordingConsumer('refusing', () => { throw new GiveUp('not for me') })
  const deadOnes: string[] = []
  const test = await buildTestApp(t, EVENTS_ENV, {
    beforeReady: (app) => {
      for (const c of [flaky, broken, refusing]) app.events.register(c)
      app.events.runner.addObserver({ dead: ({ consumer }) => deadOnes.push(consumer) })
    },
  })
  const { app, s3, bucket } = test
  const grant = await uploadFile(app, 'alice', 'hard to deliver')
  t.equal((await confirm(app, 'alice', grant.key)).statusCode, 201)
  await until('the outbox to empty', async () => (await listKeys(s3, bucket, OUTBOX_PREFIX)).length === 0)
  t.same(flaky.attempts, [1, 2, 3], 'the flaky consumer got its third attempt, and succeeded')
  t.equal(flaky.seen.length, 1)
  t.same(broken.attempts, [1, 2, 3], 'the broken one had all three attempts of the schedule')
  t.same(refusing.attempts, [1], 'GiveUp dead-letters at once')
  t.same(deadOnes.sort(), ['broken', 'refusing'])
  const dead = await listKeys(s3, bucket, DEAD_PREFIX)
  t.same(dead.map((k) => k.split('/')[2]).sort(), ['broken', 'refusing'], 'each dead consumer has its dead letter')
  const letters = await app.events.jobs.listDeadLetters('broken')
  t.equal(letters[0]?.last_error, 'always down')
  t.equal(letters[0]?.event.type, 'file.created')
})

t.test('an event whose writer died is found by the poll; two dispatchers on one bucket handle each event once', async (t) => {
  const consumer = recordingConsumer('recorder')
  const test = await buildTestApp(t, { ...EVENTS_ENV, EVENTS_POLL_INTERVAL: '1h' }, { beforeReady: (app) => app.events.register(consumer) })
  const { app, s3, bucket } = test
  const other = recordingConsumer('recorder')
  const second = createJobRunner({ jobs: app.events.jobs, retryDelaysMs: [100], leaseMs: 60_000, pollIntervalMs: 3_600_000, graceMs: 0, log: { info () {}, warn () {}, error () {} } })
  second.register(other)
  t.teardown(() => second.close())

  // Events as a writer leaves them when it dies between the write and the hand-over.
  const events = Array.from({ length: 24 }, (_, i) => newEvent('file.created', {
    id: `0193a4b2-7c1d-7e3f-9a2b-${String(i).padStart(12, '0')}`, key: `uploads/x/${i}`, filename: `${i}.txt`, content_type: 'text/plain',
    size: 1, etag: 'e', uploaded_by: 'alice', is_public: false, metadata: {}, created_at: new Date().toISOString(),
  }, Date.now()))
  await Promise.all(events.map((e) => app.events.jobs.putEvent(e)))
  await app.events.runner.pollOnce()
  t.equal(consumer.seen.length, 0, 'the poll leaves events younger than EVENTS_GRACE to their writer')
  await Promise.all([app.events.runner.pollOnce({ ignoreGrace: true }), second.pollOnce({ ignoreGrace: true }), app.events.runner.pollOnce({ ignoreGrace: true })])
  await app.events.runner.pollOnce({ ignoreGrace: true })
  await second.pollOnce({ ignoreGrace: true })
  const ids = [...consumer.seen, ...other.seen].map((e) => e.id)
  t.equal(ids.length, 24, `every event handled exactly once across both dispatchers (${consumer.seen.length} + ${other.seen.length})`)
  t.same(new Set(ids), new Set(events.map((e) => e.id)))
  t.same(await listKeys(s3, bucket, OUTBOX_PREFIX), [], 'the outbox is empty')
})

t.test('a batched removal of delivered events that fails leaves them in the outbox with their marks; the poll finishes them without delivering them again', async (t) => {
  const test = await buildTestApp(t, EVENTS_ENV)
  const { app, s3, bucket } = test
  const faults = faultyStore(app.storage.objects)
  const { createJobStore } = await import('../../src/events/job-store.js')
  const consumer = { ...recordingConsumer('bounded'), attemptTimeoutMs: 1_000 }
  const dropped: string[] = []
  const runner = createJobRunner({ jobs: createJobStore(faults.store, app.storage.conditional), retryDelaysMs: [100], leaseMs: 60_000, pollIntervalMs: 3_600_000, graceMs: 30_000, log: { info () {}, warn () {}, error () {} } })
  runner.register(consumer)
  runner.addObserver({ dropped: ({ eventId }) => dropped.push(eventId) })
  t.teardown(() => runner.close())

  const events = Array.from({ length: 5 }, (_, i) => newEvent('file.created', {
    id: `0193a4b2-7c1d-7e3f-9a2b-${String(100 + i).padStart(12, '0')}`, key: `uploads/x/${i}`, filename: `${i}.txt`, content_type: 'text/plain',
    size: 1, etag: 'e', uploaded_by: 'alice', is_public: false, metadata: {}, created_at: new Date().toISOString(),
  }, Date.now()))
  await Promise.all(events.map((e) => app.events.jobs.putEvent(e)))
  faults.failOnce(isOp('deleteMany'))
  for (const event of events) runner.submit(event, { fresh: true })
  await until('the runner to be idle', () => runner.busy === 0)
  t.equal(consumer.seen.length, 5, 'each fresh event delivered once, unclaimed')
  t.ok(faults.calls.some((c) => c.op === 'deleteMany'), 'their removal was tried, in a batch')
  t.equal((await listKeys(s3, bucket, OUTBOX_PREFIX)).length, 5, 'the failed batch left all five in the outbox')
  t.same(await listKeys(s3, bucket, STATE_PREFIX), [], 'with no claim')

  await runner.pollOnce({ ignoreGrace: true })
  await until('the runner to be idle', () => runner.busy === 0)
  t.equal(consumer.seen.length, 5, 'the poll delivered none of them again')
  t.same(dropped.sort(), events.map((e) => e.id).sort(), 'it found each one\'s mark')
  t.same(await listKeys(s3, bucket, OUTBOX_PREFIX), [], 'and removed them')
})
