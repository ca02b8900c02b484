// npm run bench -- --events: one dispatcher's delivery rate to a loopback receiver, and the confirm rate with webhooks on against off.
import { randomBytes } from 'node:crypto'
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { newEvent, outboxKeyFor } from '../src/events/event-model.js'
import type { FileRecord } from '../src/schemas/file-record.js'
import { newFileId } from '../src/uploads/file-id.js'
import { driveFlows, type LoadResult } from './load.js'
import { median, ms, pairedRatios, ratio, renderTable, spread } from './report.js'
import { cpuSeconds, type Server } from './servers.js'

/** What the bench needs from run.ts: its S3, its token pool and a way to start a filegate with extra settings. */
export interface EventsBenchContext {
  readonly admin: S3Client
  readonly bucket: string
  readonly rounds: number
  readonly seconds: number
  readonly concurrency: number
  readonly token: (i: number) => string
  readonly startFilegate: (env: NodeJS.ProcessEnv) => Promise<Server>
  /** CPU seconds the S3 store's own processes have used so far (NaN when the bench did not start it). */
  readonly storeCpuSeconds: () => number
  readonly progress: (text: string) => void
}

/** Events written straight into the outbox per drain round, for one dispatcher to deliver. */
const BACKLOG = 1000
/** Writes in flight while filling the outbox. */
const FILL_CONCURRENCY = 16
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`
/** A short grace (twice S3_TIMEOUT_MS, the least allowed) and poll, so the drain starts soon after the dispatcher does. */
const DISPATCHER_ENV = { S3_TIMEOUT_MS: '1000', EVENTS_GRACE: '2s', EVENTS_POLL_INTERVAL: '200ms' }

/** The median in µs; '–' for a figure not taken (the store's CPU when the bench did not start the store). */
export const us = (values: readonly number[]): string => Number.isFinite(median(values)) ? `${Math.round(median(values))} µs` : '–'
export const sleep = async (milliseconds: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, milliseconds)) }

/**
 * One side of an on/off round: its load's figures, the server's and the S3 store's CPU per flow (its settling
 * included), how long it settled, and its flows/s counted until then.
 */
export interface SideRun<R extends LoadResult> { readonly result: R, readonly cpuUs: number, readonly storeCpuUs: number, readonly settleMs: number, readonly sustained: number }

/**
 * On/off rounds on two servers, one driven at a time, the order alternating by round (off first in even rounds). After
 * the `on` side's load, `settle` waits for that side's background work (deliveries, scans), so that work counts
 * against its own side and not the next one's.
 */
export async function alternatingRounds<R extends LoadResult> ({ rounds, off, on, describe, drive, settle, storeCpuSeconds, progress }: {
  readonly rounds: number
  readonly off: Server
  readonly on: Server
  readonly describe: (round: number, side: 'off' | 'on') => string
  readonly drive: (server: Server, round: number) => Promise<R>
  readonly settle: (result: R) => Promise<void>
  readonly storeCpuSeconds: () => number
  readonly progress: (text: string) => void
}): Promise<Array<{ readonly off: SideRun<R>, readonly on: SideRun<R> }>> {
  const runs: Array<{ readonly off: SideRun<R>, readonly on: SideRun<R> }> = []
  for (let round = 0; round < rounds; round++) {
    const sides: { off?: SideRun<R>, on?: SideRun<R> } = {}
    for (const side of round % 2 === 0 ? ['off', 'on'] as const : ['on', 'off'] as const) {
      progress(describe(round, side))
      const server = side === 'on' ? on : off
      const cpuBefore = cpuSeconds(server.pid)
      const storeCpuBefore = storeCpuSeconds()
      const started = performance.now()
      const result = await drive(server, round)
      const ended = performance.now()
      if (side === 'on') await settle(result)
      const settled = performance.now()
      sides[side] = {
        result,
        cpuUs: (cpuSeconds(server.pid) - cpuBefore) * 1e6 / result.completed,
        storeCpuUs: (storeCpuSeconds() - storeCpuBefore) * 1e6 / result.completed,
        settleMs: settled - ended,
        sustained: result.completed / ((settled - started) / 1000),
      }
      await sleep(500)
    }
    if (sides.off !== undefined && sides.on !== undefined) runs.push({ off: sides.off, on: sides.on })
  }
  return runs
}

/** A webhook receiver that answers 204 at once and notes when each event id first arrived and when its change was made. */
export interface Receiver {
  readonly url: string
  /** Event id → [first arrival, the event's own timestamp] (ms since the epoch). */
  readonly seen: Map<string, readonly [number, number]>
  /** Deliveries in all, repeats included. */
  deliveries: number
  close (): Promise<void>
}

export async function startReceiver (): Promise<Receiver> {
  const seen = new Map<string, readonly [number, number]>()
  const receiver = { url: '', seen, deliveries: 0, close: async () => undefined }
  const server: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      res.writeHead(204).end()
      receiver.deliveries++
      const id = String(req.headers['webhook-id'])
      if (seen.has(id)) return
      const { timestamp } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string }
      seen.set(id, [Date.now(), Date.parse(timestamp)])
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  })
}

/** Polls `check` every `intervalMs` until it holds, or throws after `timeoutMs`. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** `count` file.created events written straight into the outbox, as confirms would have written them; their ids. */
async function fillOutbox (admin: S3Client, bucket: string, count: number): Promise<string[]> {
  const ids: string[] = []
  let next = 0
  await Promise.all(Array.from({ length: FILL_CONCURRENCY }, async () => {
    while (next < count) {
      next++
      const id = newFileId()
      const record: FileRecord = {
        id, key: `uploads/bench/${id}.txt`, filename: 'report.txt', content_type: 'text/plain', size: 1024, etag: randomBytes(16).toString('hex'),
        uploaded_by: 'bench-drain', is_public: false, metadata: {}, created_at: new Date().toISOString(),
      }
      const event = newEvent('file.created', record, Date.now())
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: outboxKeyFor(event.id), Body: JSON.stringify(event), ContentType: 'application/json' }))
      ids.push(event.id)
    }
  }))
  return ids
}

interface DrainRun { readonly events: number, readonly perSecond: number, readonly firstMs: number, readonly seconds: number }

/** One dispatcher (a filegate process started after the outbox was filled) delivering a backlog; timed from its first delivery to its last. */
async function drainOnce (context: EventsBenchContext, receiver: Receiver): Promise<DrainRun> {
  const ids = await fillOutbox(context.admin, context.bucket, BACKLOG)
  // Older than the grace before the dispatcher's first poll, so that poll takes them all.
  await sleep(2_100)
  const started = Date.now()
  const dispatcher = await context.startFilegate({ WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET, ...DISPATCHER_ENV })
  try {
    await waitFor(`${BACKLOG} events delivered`, () => ids.every((id) => receiver.seen.has(id)), 300_000)
  } finally {
    await dispatcher.stop()
  }
  const arrivals = ids.map((id) => receiver.seen.get(id)?.[0] ?? Number.NaN)
  const first = Math.min(...arrivals)
  const seconds = (Math.max(...arrivals) - first) / 1000
  return { events: ids.length, perSecond: (ids.length - 1) / seconds, firstMs: first - started, seconds }
}

interface ConfirmRun { readonly off: SideRun<LoadResult>, readonly on: SideRun<LoadResult>, readonly lagMs: number[] }

export async function runEventsBench (context: EventsBenchContext): Promise<string> {
  const { rounds, seconds, concurrency, token, progress } = context
  const receiver = await startReceiver()
  try {
    // The same build and settings, one with webhooks to the receiver; only one is driven at a time.
    const off = await context.startFilegate({})
    const on = await context.startFilegate({ WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET })
    let runs: ConfirmRun[] = []
    try {
      let before = new Set<string>()
      const lags: number[][] = []
      const pairs = await alternatingRounds({
        rounds, off, on, progress, storeCpuSeconds: context.storeCpuSeconds,
        describe: (round, side) => `round ${round + 1}/${rounds}: upload → S3 → confirm, webhooks ${side}`,
        drive: async (server, round) => {
          before = new Set(receiver.seen.keys())
          return await driveFlows({ base: server.base, token: (i) => token(i + 13 * round), concurrency, seconds, bytes: 1024 })
        },
        // Every event of the round delivered before the next side runs: the dispatcher's work counts against its own side.
        settle: async (result) => {
          await waitFor('the round\'s events', () => receiver.seen.size - before.size >= result.completed, 120_000)
          lags.push([...receiver.seen.entries()].filter(([id]) => !before.has(id)).map(([, [at, made]]) => at - made).sort((a, b) => a - b))
        },
      })
      runs = pairs.map((pair, i) => ({ ...pair, lagMs: lags[i] ?? [] }))
    } finally {
      await Promise.all([off.stop(), on.stop()])
    }

    const drains: DrainRun[] = []
    for (let round = 0; round < rounds; round++) {
      progress(`round ${round + 1}/${rounds}: one dispatcher delivering ${BACKLOG} events from the outbox`)
      drains.push(await drainOnce(context, receiver))
    }

    const offRates = runs.map((r) => r.off.result.rps)
    const onRates = runs.map((r) => r.on.result.rps)
    const sustained = runs.map((r) => r.on.sustained)
    const errors = runs.reduce((n, r) => n + r.off.result.errors + r.on.result.errors, 0)
    const lags = runs.flatMap((r) => r.lagMs).sort((a, b) => a - b)
    const at = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? Number.NaN
    const confirmTable = renderTable(
      [`confirm with webhooks on vs off (${rounds} alternating rounds of ${seconds} s, ${concurrency} flows at a time)`, 'flows/s median (min–max)', 'p50 / p99', 'filegate CPU per flow', 'S3 store CPU per flow', 'ratio (paired by round)'],
      [
        ['upload → S3 → confirm, WEBHOOK_URLS unset', spread(offRates), `${ms(median(runs.map((r) => r.off.result.p50Ms)))} / ${ms(median(runs.map((r) => r.off.result.p99Ms)))}`, us(runs.map((r) => r.off.cpuUs)), us(runs.map((r) => r.off.storeCpuUs)), '1.00× off'],
        ['the same, WEBHOOK_URLS set (each event delivered during the round)', spread(onRates), `${ms(median(runs.map((r) => r.on.result.p50Ms)))} / ${ms(median(runs.map((r) => r.on.result.p99Ms)))}`, us(runs.map((r) => r.on.cpuUs)), us(runs.map((r) => r.on.storeCpuUs)), `${ratio(pairedRatios(onRates, offRates), 'off')} (goal ≥ 0.9×)`],
        ['  … counted until the round\'s last event was delivered', spread(sustained), `drain after the round: ${ms(median(runs.map((r) => r.on.settleMs)))}`, '', '', ratio(pairedRatios(sustained, offRates), 'off')],
      ],
    )
    const drainRates = drains.map((d) => d.perSecond)
    const drainTable = renderTable(
      [`one dispatcher, receiver on loopback answering 204 at once (${rounds} rounds)`, 'events/s median (min–max)', 'detail', 'ratio'],
      [
        [`a backlog of ${BACKLOG} events in the outbox, first delivery to last`, spread(drainRates), `first delivery ${ms(median(drains.map((d) => d.firstMs)))} after spawn, ${median(drains.map((d) => d.seconds)).toFixed(1)} s in all`, `${(median(drainRates) / median(offRates)).toFixed(2)}× one process's confirm rate`],
        ['events of the confirm rounds: change → delivered', `${lags.length} events`, `lag p50 ${ms(at(0.5))}, p99 ${ms(at(0.99))}`, `${receiver.deliveries - receiver.seen.size} repeated`],
      ],
    )
    return `${confirmTable}\n\n${drainTable}${errors > 0 ? `\n\n${errors} flows failed: treat the figures as suspect` : ''}`
  } finally {
    await receiver.close()
  }
}
