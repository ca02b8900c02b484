// Redis down mid-run: every instance keeps serving and counts limits on its own (per process, as without REDIS_URL),
// a hung Redis costs a check at most REDIS_TIMEOUT_MS, one log line per outage; shared counting resumes when it returns.
import t from 'tap'
import { bearer } from '../helper.js'
import { redisConnected, startInstances, type Instances } from '../support/app-instances.js'
import { startTestRedis } from '../support/redis-server.js'

const MAX = 5
/** Long enough that a busy machine does not make a running Redis look down; the frozen test uses a short one. */
const TIMEOUT_MS = 1000
const FROZEN_TIMEOUT_MS = 200
/** Generous for a loaded machine; the point is "bounded", not "fast" (speed is the bench's business). */
const SLACK_MS = 2000

async function ask (fleet: Instances, i: number, owner: string): Promise<{ status: number, ms: number }> {
  const started = performance.now()
  const res = await fleet.inject(i, { method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'n.txt' } })
  return { status: res.statusCode, ms: performance.now() - started }
}

/** RATE_LIMIT_MAX + 1 requests from `owner`, round robin over the instances: exactly one 429 when the count is shared. */
async function spread (fleet: Instances, owner: string): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i <= MAX; i++) statuses.push((await ask(fleet, i, owner)).status)
  return statuses
}

/**
 * Spreads over fresh owners until exactly one of RATE_LIMIT_MAX + 1 requests is refused (the count is shared), or 15 s
 * pass: on a loaded machine one check can still time out into local counting just after Redis is back.
 */
async function untilShared (fleet: Instances, prefix: string): Promise<number[]> {
  const deadline = Date.now() + 15_000
  let statuses: number[] = []
  for (let round = 0; Date.now() < deadline; round++) {
    statuses = await spread(fleet, `${prefix}-${round}`)
    if (statuses.filter((s) => s === 429).length === 1) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return statuses
}

/** The lines instance `i` logged about Redis going away, from its `from`th log line on. */
const outageLines = (fleet: Instances, i: number, from = 0) => fleet.logs[i]!.slice(from).filter((line) => /^Redis (does not answer|is not connected)/.test(String(line.msg)))
const resumedLines = (fleet: Instances, i: number, from = 0) => fleet.logs[i]!.slice(from).filter((line) => /^Redis answers again/.test(String(line.msg)))

t.test('Redis stopped mid-run: requests go on, each instance limits on its own, and sharing resumes when Redis returns', async (t) => {
  const redis = await startTestRedis(t)
  const fleet = await startInstances(t, 3, { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: String(TIMEOUT_MS), RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: '1m', LOG_LEVEL: 'info' })
  t.same((await spread(fleet, 'before')).filter((s) => s === 429).length, 1, 'shared while Redis runs: exactly one 429')

  const stoppedAt = fleet.logs.map((lines) => lines.length)
  await redis.stop()
  const onFirst: Array<{ status: number, ms: number }> = []
  for (let i = 0; i <= MAX; i++) onFirst.push(await ask(fleet, 0, 'during'))
  t.same(onFirst.map((r) => r.status), [200, 200, 200, 200, 200, 429], 'one instance still enforces RATE_LIMIT_MAX by itself')
  const slowest = Math.max(...onFirst.map((r) => r.ms))
  t.ok(slowest < TIMEOUT_MS + SLACK_MS, `no request waits on the missing Redis longer than REDIS_TIMEOUT_MS (slowest ${slowest.toFixed(0)} ms)`)
  const onSecond: number[] = []
  for (let i = 0; i < MAX; i++) onSecond.push((await ask(fleet, 1, 'during')).status)
  t.same(onSecond, [200, 200, 200, 200, 200], 'another instance counts on its own (the documented N x limit while Redis is out)')
  t.equal((await ask(fleet, 2, 'someone-else')).status, 200, 'nobody gets a 5xx')
  for (const i of [0, 1, 2]) t.equal(outageLines(fleet, i, stoppedAt[i]).length, 1, `instance ${i} logged the outage once`)
  t.ok(fleet.apps.every((app) => (app.redis?.fallbacks ?? 0) > 0), 'and counted its local decisions')

  const restartedAt = fleet.logs.map((lines) => lines.length)
  await redis.start()
  await redisConnected(fleet.apps)
  for (const i of [0, 1, 2]) t.equal(resumedLines(fleet, i, restartedAt[i]).length, 1, `instance ${i} logged that Redis is back`)
  const after = await untilShared(fleet, 'after')
  t.same(after.filter((s) => s === 429).length, 1, `shared again: exactly one 429 over the three instances (${after.join(' ')})`)
})

t.test('a hung Redis (SIGSTOP) costs one check REDIS_TIMEOUT_MS, then the instance counts alone until Redis answers', async (t) => {
  const redis = await startTestRedis(t)
  const fleet = await startInstances(t, 2, { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: String(FROZEN_TIMEOUT_MS), RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: '1m' })
  const frozenAt = fleet.logs[0]!.length
  redis.freeze()
  t.teardown(() => redis.thaw())
  const results: Array<{ status: number, ms: number }> = []
  for (let i = 0; i <= MAX; i++) results.push(await ask(fleet, 0, 'frozen'))
  t.same(results.map((r) => r.status), [200, 200, 200, 200, 200, 429], 'answers, and limits per process')
  const slowest = Math.max(...results.map((r) => r.ms))
  t.ok(slowest < FROZEN_TIMEOUT_MS + SLACK_MS, `each waited at most about REDIS_TIMEOUT_MS (slowest ${slowest.toFixed(0)} ms)`)
  t.equal(outageLines(fleet, 0, frozenAt).length, 1, 'one log line')

  redis.thaw()
  // Shared again once the instance asks Redis again (a second after the failure) and Redis answers.
  const statuses = await untilShared(fleet, 'thawed')
  t.same(statuses.filter((s) => s === 429).length, 1, `shared again after the thaw: exactly one 429 (${statuses.join(' ')})`)
})
