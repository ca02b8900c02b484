// Request logging: one line per request with its id, method, url, status and time; the request's own lines carry the same id.
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { loggerOptions } from '../src/app.js'
import type { Config } from '../src/config.js'
import { bearer, buildTestApp } from './helper.js'

async function appLoggingTo (t: Test, lines: string[], env: Record<string, string> = {}) {
  const logger = (config: Config) => pino(loggerOptions(config), { write: (line: string) => { lines.push(line) } })
  return (await buildTestApp(t, { LOG_LEVEL: 'info', ...env }, { logger })).app
}

const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>)

t.test('a request writes one line: request id, method, url, status and time', async (t) => {
  const lines: string[] = []
  const app = await appLoggingTo(t, lines)
  lines.length = 0
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer('alice'), payload: { filename: 'a.txt' } })
  t.equal(res.statusCode, 200)
  const [line, ...more] = parsed(lines)
  t.same(more, [], 'one line')
  t.match(line, { level: 30, reqId: String, method: 'POST', url: '/files/upload-url', statusCode: 200, ms: Number, msg: 'request' })
  t.equal(Object.keys(line ?? {}).indexOf('reqId'), Object.keys(line ?? {}).indexOf('hostname') + 1, 'reqId first after the base bindings, as request.log writes it')
})

t.test('what a request logs itself carries its request id', async (t) => {
  const lines: string[] = []
  // A wrong secret: S3 refuses, and the error handler logs through request.log.
  const app = await appLoggingTo(t, lines, { AWS_SECRET_ACCESS_KEY: 'not-the-secret-key-0123456789' })
  lines.length = 0
  const res = await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })
  t.equal(res.statusCode, 503)
  const [failure, completion, ...more] = parsed(lines)
  t.same(more, [])
  t.match(failure, { level: 40, msg: 'storage call failed', code: 'STORAGE_UNAVAILABLE' })
  t.match(completion, { msg: 'request', statusCode: 503 })
  t.equal(failure?.reqId, completion?.reqId, 'the same request id on both lines')
})

t.test('routes that log at warn (the health checks) write no line for a success', async (t) => {
  const lines: string[] = []
  const app = await appLoggingTo(t, lines)
  lines.length = 0
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  t.same(lines, [])
})
