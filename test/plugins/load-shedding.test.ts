// Load shedding: while the event loop is blocked, requests get 503 OVERLOADED with Retry-After, /ready says 503, /health stays 200.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { bearer, buildTestApp } from '../helper.js'

/** Busy-waits `ms` milliseconds: the event loop does nothing else meanwhile. */
function block (ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) { /* the overload */ }
}

/** Blocks the loop 150 ms out of every ~160 until stopped: a process whose work outruns it. */
function overload (): () => void {
  const timer = setInterval(() => { block(150) }, 10)
  return () => { clearInterval(timer) }
}

/** Asks `url` every 50 ms until `done` holds for an answer; throws after `deadlineMs`. */
async function pollUntil (app: FastifyInstance, url: string, done: (res: LightMyRequestResponse) => boolean, deadlineMs: number): Promise<LightMyRequestResponse> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const res = await app.inject({ method: 'GET', url, headers: bearer('alice') })
    if (done(res)) return res
    if (Date.now() > deadline) throw new Error(`${url} still answered ${res.statusCode} after ${deadlineMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('a blocked event loop sheds load: 503 OVERLOADED with Retry-After, /ready 503, /health 200; it recovers', async (t) => {
  const { app } = await buildTestApp(t, { LOAD_SHED_MAX_EVENT_LOOP_DELAY: '50ms', LOAD_SHED_RETRY_AFTER: '7s' })
  t.equal((await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).statusCode, 200, 'served before the overload')

  const stop = overload()
  let shed: LightMyRequestResponse
  let ready: LightMyRequestResponse
  let health: LightMyRequestResponse
  try {
    shed = await pollUntil(app, '/files', (res) => res.statusCode === 503, 20_000)
    ready = await app.inject({ method: 'GET', url: '/ready' })
    health = await app.inject({ method: 'GET', url: '/health' })
  } finally {
    stop()
  }
  t.equal(shed.headers['retry-after'], '7', 'Retry-After is LOAD_SHED_RETRY_AFTER')
  t.same(shed.json(), { statusCode: 503, code: 'OVERLOADED', error: 'Service Unavailable', message: 'filegate is overloaded right now; retry after the delay in Retry-After' }, 'in the shared error shape')
  t.equal(ready.statusCode, 503, '/ready says 503, so a load balancer stops sending')
  t.equal(ready.json<{ code: string }>().code, 'OVERLOADED')
  t.equal(ready.headers['retry-after'], '7')
  t.equal(health.statusCode, 200, '/health stays 200: the process is alive, only busy')

  // Once the loop is free again, the next sample clears the pressure.
  await pollUntil(app, '/ready', (res) => res.statusCode === 200, 20_000)
  t.equal((await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).statusCode, 200, 'served again after the overload')
})

t.test('LOAD_SHED_MAX_EVENT_LOOP_DELAY=0 with no utilisation threshold: nothing is shed', async (t) => {
  const { app } = await buildTestApp(t, { LOAD_SHED_MAX_EVENT_LOOP_DELAY: '0' })
  t.equal(app.hasDecorator('isUnderPressure'), false, 'the plugin is not registered')
  const stop = overload()
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500))
    t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
  } finally {
    stop()
  }
})
