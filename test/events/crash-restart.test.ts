// filegate killed with SIGKILL right after answering a confirm, before it could deliver: another instance, or the same one restarted, delivers the event.
import t from 'tap'
import { OUTBOX_PREFIX } from '../../src/events/event-model.js'
import { listKeys, s3ClientFor, testS3 } from '../helper.js'
import { startFleet } from '../support/fleet.js'
import { uploadAndConfirm } from '../support/http-flow.js'
import { startReceiver, TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js'

t.setTimeout(300_000)

t.test('an event whose writer was killed is delivered by another instance, and by the same one restarted', async (t) => {
  const receiver = await startReceiver(t)
  const { bucket, instances } = await startFleet(t, ['a', 'b'], {
    RATE_LIMIT_ENABLED: 'false',
    S3_TIMEOUT_MS: '5000',
    EVENTS_GRACE: '10s',
    EVENTS_POLL_INTERVAL: '500ms',
    WEBHOOK_TIMEOUT_MS: '3000',
    EVENTS_LEASE: '8s',
    WEBHOOK_RETRY_SCHEDULE: '500ms,1s,1s,2s,2s,2s',
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  })
  const [a, b] = instances
  if (a === undefined || b === undefined) throw new Error('two instances')
  const s3 = s3ClientFor(testS3())
  t.teardown(() => s3.destroy())

  for (const [victim, survivor, how] of [[a, b, 'another instance'], [b, a, 'the same instance restarted']] as const) {
    // The receiver refuses connections, so the victim cannot deliver before it dies.
    await receiver.down()
    const upload = await uploadAndConfirm(`http://127.0.0.1:${victim.port}`, 'alice', `killed after confirming (${how})`)
    await victim.kill()
    t.equal(upload.status, 201, `${how}: the confirm was answered`)
    t.ok((await listKeys(s3, bucket, OUTBOX_PREFIX)).some((k) => k.includes(upload.fileId)), `${how}: the event is in the outbox after the kill`)
    const before = receiver.requests.length
    await receiver.up()
    if (how === 'the same instance restarted') {
      await survivor.kill()
      await victim.start()
    }
    await receiver.until(`${how}: the delivery`, (r) => r.slice(before).some((q) => String(q.headers['webhook-id']).startsWith(`file.created.${upload.fileId}.`)), 120_000)
    const delivered = receiver.requests.slice(before).filter((q) => String(q.headers['webhook-id']).includes(upload.fileId))
    t.equal(delivered.length, 1, `${how}: delivered once`)
    if (how === 'another instance') await victim.start()
  }
})
