// Long crafted URLs, sent without a token, cannot stall the process: every request line is scrubbed in linear time.
import { pino } from 'pino'
import t from 'tap'
import { loggerOptions } from '../../src/app.js'
import { buildTestApp } from '../helper.js'

/** The shape that made the old JWT pattern backtrack quadratically (0.65 s for 16 KiB), just under Node's 16 KiB header limit. */
const CRAFTED_PATH = `/${'ey-'.repeat(5000)}`
/** Before the fix, eight such requests held /health for about 4.7 s; now it answers in milliseconds. */
const HEALTH_BUDGET_MS = 1000

t.test('eight crafted 15 KB URLs at once do not delay /health', async (t) => {
  let lines = 0
  // Logging as server.ts does (info level, through the scrubber), to a destination that only counts.
  const { app } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logger: (config) => pino(loggerOptions(config), { write: () => { lines++ } }) })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })

  const crafted = Array.from({ length: 8 }, async () => await fetch(`${base}${CRAFTED_PATH}`).then((res) => res.status))
  const started = performance.now()
  const health = await fetch(`${base}/health`)
  const healthMs = performance.now() - started
  const statuses = await Promise.all(crafted)

  t.equal(health.status, 200)
  t.same(statuses, Array(8).fill(404), 'each crafted URL is answered 404 ROUTE_NOT_FOUND')
  t.ok(healthMs < HEALTH_BUDGET_MS, `/health answered in ${healthMs.toFixed(0)} ms beside 8 crafted URLs (budget ${HEALTH_BUDGET_MS} ms)`)
  t.ok(lines >= 8, `the crafted requests were logged (${lines} lines), so their lines went through the scrubber`)
})
