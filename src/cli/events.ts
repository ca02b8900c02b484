// `npm run events -- list-dead [--consumer <name>]` prints dead letters; `npm run events -- replay-dead [--consumer <name>] [--id <event id>]` sends them again.
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { announceNodeVersionToStderr } from '../node-version.js'
import { configuredConsumers } from '../events/consumers.js'
import { createJobRunner } from '../events/job-runner.js'
import { createJobStore } from '../events/job-store.js'
import { createConditionalWrites } from '../storage/conditional-writes.js'
import { createObjectStore, createS3Clients, destroyS3Clients } from '../storage/s3.js'
import { openCommandStore } from './command-store.js'

announceNodeVersionToStderr()

const USAGE = 'Usage: npm run events -- list-dead [--consumer <name>] | replay-dead [--consumer <name>] [--id <event id>]'

function fail (message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(2)
}

let parsed: { values: { consumer?: string | undefined, id?: string | undefined }, positionals: string[] }
try {
  parsed = parseArgs({ options: { consumer: { type: 'string' }, id: { type: 'string' } }, allowPositionals: true })
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
}
const [command, ...extra] = parsed.positionals
if ((command !== 'list-dead' && command !== 'replay-dead') || extra.length > 0) fail(USAGE)

let config: Config
try {
  // The events CLI verifies no token, so it needs no JWT key.
  config = loadConfig(process.env, { requireJwtKey: false })
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error))
}

// With no S3 configured in development, the embedded store, which runs inside `npm start` (or is started for this run).
const store = await openCommandStore(config, 'events', fail)
const clients = createS3Clients(store.s3)
const log = {
  info: () => undefined,
  warn: (object: object, message: string) => { process.stderr.write(`${message} ${JSON.stringify(object)}\n`) },
  error: (object: object, message: string) => { process.stderr.write(`${message} ${JSON.stringify(object)}\n`) },
}
try {
  const objects = createObjectStore(clients)
  const jobs = createJobStore(objects, createConditionalWrites(objects))
  const letters = (await jobs.listDeadLetters(parsed.values.consumer)).filter((l) => parsed.values.id === undefined || l.event.id === parsed.values.id)
  if (command === 'list-dead') {
    for (const letter of letters) process.stdout.write(`${JSON.stringify(letter)}\n`)
    process.stderr.write(`${letters.length} dead letter(s)\n`)
  } else {
    const runner = createJobRunner({ jobs, retryDelaysMs: config.events.retryDelaysMs, leaseMs: config.events.leaseMs, pollIntervalMs: config.events.pollIntervalMs, graceMs: config.events.graceMs, log })
    for (const consumer of configuredConsumers(config)) runner.register(consumer)
    let delivered = 0
    let requeued = 0
    for (const letter of letters) {
      if (!runner.consumers.some((c) => c.name === letter.consumer)) {
        process.stderr.write(`skipped ${letter.event.id}: no configured consumer is named ${letter.consumer}\n`)
        continue
      }
      // Back in the outbox with the consumer's mark removed: only that consumer gets it again, with fresh attempts.
      await jobs.putEvent(letter.event)
      await jobs.unmarkSeen(letter.consumer, letter.event.id)
      await jobs.removeDeadLetter(letter.consumer, letter.event.id)
      let done = false
      runner.addObserver({ done: ({ event, consumer }) => { if (event.id === letter.event.id && consumer === letter.consumer) done = true } })
      await runner.run(letter.event.id, letter.event)
      if (done) delivered++
      else requeued++
    }
    await runner.close()
    process.stdout.write(`${JSON.stringify({ replayed: delivered + requeued, delivered, retrying: requeued })}\n`)
    if (requeued > 0) process.stderr.write('events not delivered at once stay in the outbox: the running dispatchers retry them on the schedule\n')
  }
} catch (error) {
  process.stderr.write(`events failed: ${error instanceof Error ? error.message : String(error)}${store.hint}\n`)
  process.exitCode = 1
} finally {
  destroyS3Clients(clients)
  await store.close()
}
