// `npm run cleanup -- [--dry-run] [--older-than <duration>] [--lookback <duration>] [--recount]`: deletes orphaned uploads, aborts stale multipart uploads, optionally recounts owners' file counts; prints a JSON summary.
import { parseArgs } from 'node:util'
import { repairOwnerCounts } from '../cleanup/count-repair.js'
import { explainListedDays } from '../cleanup/listed-days.js'
import { sweepOrphans } from '../cleanup/orphan-sweeper.js'
import { ConfigError, loadConfig, parseDurationSeconds, type Config } from '../config.js'
import { announceNodeVersionToStderr } from '../node-version.js'
import { configuredConsumers } from '../events/consumers.js'
import { createJobStore } from '../events/job-store.js'
import { createEventOutbox } from '../events/outbox.js'
import { createConditionalWrites } from '../storage/conditional-writes.js'
import { createSessionStore } from '../multipart/session-store.js'
import { createRecordStore } from '../storage/record-store.js'
import { createObjectStore, createS3Clients, destroyS3Clients } from '../storage/s3.js'
import { openCommandStore } from './command-store.js'

announceNodeVersionToStderr()

const USAGE = 'Usage: npm run cleanup -- [--dry-run] [--older-than <duration>] [--lookback <duration>] [--recount]'
/** A count changed this recently may have a confirm or DELETE in flight: the recount leaves it for the next run. */
const RECOUNT_QUIET_MS = 10 * 60_000

function fail (message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(2)
}

let values: { 'dry-run': boolean, 'older-than'?: string | undefined, lookback?: string | undefined, recount: boolean }
try {
  values = parseArgs({
    options: { 'dry-run': { type: 'boolean', default: false }, 'older-than': { type: 'string' }, lookback: { type: 'string' }, recount: { type: 'boolean', default: false } },
  }).values
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
}

let config: Config
try {
  // Cleanup verifies no token, so it needs no JWT key.
  config = loadConfig(process.env, { requireJwtKey: false })
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error))
}

function duration (option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  try {
    return parseDurationSeconds(text)
  } catch {
    fail(`--${option} must be a duration such as 90s, 15m, 24h or 7d (got "${text}")\n${USAGE}`)
  }
}

const olderThan = duration('older-than', values['older-than'], config.uploads.orphanTtlSeconds)
const lookback = duration('lookback', values.lookback, config.cleanup.lookbackSeconds)
if (olderThan <= config.uploads.urlExpiresSeconds) {
  fail(`--older-than (${olderThan} s) must be longer than UPLOAD_URL_EXPIRES (${config.uploads.urlExpiresSeconds} s), or uploads still in progress would be deleted`)
}
if (lookback < 1) fail('--lookback must be at least 1 s')

// With no S3 configured in development, the embedded store, which runs inside `npm start` (or is started for this run).
const store = await openCommandStore(config, 'cleanup', fail)
const clients = createS3Clients(store.s3)
try {
  const objects = createObjectStore(clients)
  const conditional = createConditionalWrites(objects)
  // Events wait in the outbox for the servers' dispatchers; the CLI delivers none itself.
  // Cleanup makes only file.deleted events, which only the configured webhooks want (scanning and variants do not).
  const consumers = configuredConsumers(config)
  const now = Date.now()
  const swept = await sweepOrphans({
    objects,
    records: createRecordStore(objects, conditional),
    events: { outbox: createEventOutbox({ wanted: (type) => consumers.some((c) => c.types.includes(type)) }), jobs: createJobStore(objects, conditional), dedupeWindowSeconds: config.events.dedupeWindowSeconds },
    sessions: createSessionStore(objects),
    uploads: config.uploads,
    olderThanSeconds: olderThan,
    lookbackSeconds: lookback,
    dryRun: values['dry-run'],
    now: () => now,
  })
  const summary = { ...swept, days_explained: explainListedDays({ days: swept.days, now, prefix: config.uploads.prefix, olderThanSeconds: olderThan, lookbackSeconds: lookback }) }
  const records = createRecordStore(objects)
  const counts = values.recount && !values['dry-run'] ? await repairOwnerCounts({ objects, records, quietMs: RECOUNT_QUIET_MS }) : undefined
  process.stdout.write(`${JSON.stringify(counts === undefined ? summary : { ...summary, counts }, null, 2)}\n`)
  if (summary.errors > 0 || (counts?.errors ?? 0) > 0) process.exitCode = 1
} catch (error) {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : ''
  process.stderr.write(`cleanup failed: ${error instanceof Error ? error.message : String(error)}${cause}${store.hint}\n`)
  process.exitCode = 1
} finally {
  destroyS3Clients(clients)
  await store.close()
}
