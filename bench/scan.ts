// npm run bench -- --scan: scan throughput S3 → filegate's clamd client → clamd against clamdscan --stream, thumbnails per second,
// and confirm's latency and rate with SCANNER=clamav against without scanning.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import sharp from 'sharp'
import { loadConfig } from '../src/config.js'
import { eventIdOfOutboxKey, OUTBOX_PREFIX, typeOfEvent } from '../src/events/event-model.js'
import { pingClamd, scanStream } from '../src/scanning/clamd-client.js'
import { createObjectStore, createS3Clients } from '../src/storage/s3.js'
import { renderVariant } from '../src/variants/render-variant.js'
import { alternatingRounds, startReceiver, us, waitFor, type EventsBenchContext, type SideRun } from './events.js'
import { driveFlows, driveOpenFlows, uploadFlow, type FlowResult } from './load.js'
import { median, ms, pairedRatios, ratio, renderTable, spread } from './report.js'
import type { BenchS3 } from './test-s3.js'
import { freePort } from '../test/support/free-port.js'

const MIB = 1024 * 1024
/**
 * The open-loop arrival rate of runScanConfirmBench: about a quarter of the ~46 flows/s that one core served with
 * scanning off at saturation (docs/scanning.md), so confirm's latency is that of a server that keeps up.
 */
export const OPEN_LOOP_FLOWS_PER_SECOND = 10
/** Untimed scans each way before the timed rounds of runScanBench. */
const WARM_UP_SCANS = 3
/** After an open-loop round, how long its scans may still run and count as keeping up. */
const OPEN_LOOP_DRAIN_MS = 2000


/** A clamd of the bench's own (a one-line test signature database), on a free loopback port. */
export interface BenchClamd {
  readonly address: { readonly host: string, readonly port: number }
  /** Its config file, for clamdscan. */
  readonly conf: string
  /** A directory of its own, removed by stop(). */
  readonly dir: string
  /** Its StreamMaxLength in MiB. */
  readonly maxMib: number
  stop (): Promise<void>
}

/** Starts clamd in the foreground (as the tests do) and waits for its PING; `maxMib` is its StreamMaxLength. */
export async function startBenchClamd (maxMib: number): Promise<BenchClamd> {
  const dir = await mkdtemp(join(tmpdir(), 'filegate-bench-clamd-'))
  const port = await freePort()
  await writeFile(join(dir, 'test.hdb'), '44d88612fea8a8f36de82e1278abb02f:68:Filegate.Test.EICAR\n')
  const conf = join(dir, 'clamd.conf')
  await writeFile(conf, [`TCPSocket ${port}`, 'TCPAddr 127.0.0.1', `DatabaseDirectory ${dir}`, 'Foreground yes', `LogFile ${join(dir, 'clamd.log')}`, `StreamMaxLength ${maxMib}M`, ''].join('\n'))
  const clamd = spawn('clamd', ['--foreground', `--config-file=${conf}`], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => clamd.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (clamd.exitCode === null && clamd.signalCode === null) {
      clamd.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  }
  const address = { host: '127.0.0.1', port }
  try {
    const deadline = Date.now() + 30_000
    while (!(await pingClamd(address, 1000))) {
      if (Date.now() > deadline || clamd.exitCode !== null) throw new Error('clamd did not start')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { address, conf, dir, maxMib, stop }
}

/**
 * Scans one file of `mib` MiB both ways, `rounds` times, the side that goes first alternating from round to round,
 * after WARM_UP_SCANS untimed scans each way (clamd's first scan after it starts is several times slower than the next
 * ones: it used to land on filegate's side of round 1 every time; and a test RGW just started serves its first large
 * GETs at 100-180 MiB/s, then 300-1,000 MiB/s once its heap has grown); thumbnails of a 12 MP JPEG for `seconds`. `clamd`'s
 * StreamMaxLength must be at least `mib`.
 */
export async function runScanBench (s3: BenchS3, clamd: BenchClamd, { mib = 64, rounds = 3, seconds = 5 } = {}): Promise<string> {
  if (clamd.maxMib < mib) throw new Error(`clamd's StreamMaxLength (${clamd.maxMib} MiB) is under the ${mib} MiB file`)
  const { address, conf, dir } = clamd
  const config = loadConfig({
    NODE_ENV: 'test', S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_BUCKET: `fg-bench-scan-${randomBytes(4).toString('hex')}`, JWT_SECRET: 'bench-secret-0123456789-abcdefghijklmnop',
  })
  const clients = createS3Clients(config.s3)
  const objects = createObjectStore(clients)
  const bucket = config.s3.bucket
  const key = 'scan-bench.bin'
  try {
    const bytes = randomBytes(mib * MIB)
    await clients.internal.send(new CreateBucketCommand({ Bucket: bucket }))
    await clients.internal.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }))
    const file = join(dir, key)
    await writeFile(file, bytes)

    /** MiB/s of one scan from S3 through filegate's clamd client. */
    const throughFilegate = async (): Promise<number> => {
      const started = performance.now()
      const object = await objects.getStream(key)
      if (object === undefined) throw new Error('the bench object is gone')
      const verdict = await scanStream(address, object.body, { timeoutMs: 60_000, maxBytes: clamd.maxMib * MIB })
      if (verdict.status !== 'clean') throw new Error(`filegate's scan answered ${JSON.stringify(verdict)}`)
      return mib / ((performance.now() - started) / 1000)
    }
    /** MiB/s of one `clamdscan --stream` of the same bytes from disk. */
    const throughClamdscan = (): number => {
      const started = performance.now()
      const run = spawnSync('clamdscan', ['--stream', '--no-summary', `--config-file=${conf}`, file], { encoding: 'utf8', timeout: 120_000 })
      if (run.status !== 0) throw new Error(`clamdscan failed: ${run.stdout} ${run.stderr}`)
      return mib / ((performance.now() - started) / 1000)
    }
    for (let i = 0; i < WARM_UP_SCANS; i++) {
      await throughFilegate()
      throughClamdscan()
    }
    const viaFilegate: number[] = []
    const viaClamdscan: number[] = []
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 1) viaClamdscan.push(throughClamdscan())
      viaFilegate.push(await throughFilegate())
      if (round % 2 === 0) viaClamdscan.push(throughClamdscan())
    }

    // A 12-megapixel JPEG of noise (the worst case for the decoder), made here.
    const photo = await sharp(randomBytes(4000 * 3000 * 3), { raw: { width: 4000, height: 3000, channels: 3 } }).jpeg({ quality: 85 }).toBuffer()
    let thumbs = 0
    const until = performance.now() + seconds * 1000
    const thumbStart = performance.now()
    while (performance.now() < until) {
      await renderVariant(photo, 256, 40_000_000)
      thumbs++
    }
    const perSecond = thumbs / ((performance.now() - thumbStart) / 1000)

    const f = median(viaFilegate)
    const c = median(viaClamdscan)
    return [
      `scan of ${mib} MiB, median of ${rounds} rounds after ${WARM_UP_SCANS} untimed scans each way, which side goes first alternating (RGW at ${s3.source}):`,
      `  S3 → filegate (clamd client, INSTREAM) → clamd: ${f.toFixed(0)} MiB/s (${viaFilegate.map((v) => v.toFixed(0)).join(', ')})`,
      `  clamdscan --stream of the same file from disk:  ${c.toFixed(0)} MiB/s (${viaClamdscan.map((v) => v.toFixed(0)).join(', ')})`,
      `  ratio ${(f / c).toFixed(2)}× (goal 0.8×)`,
      `thumbnails (256 px WebP) of a 12 MP JPEG (${(photo.length / MIB).toFixed(1)} MiB): ${perSecond.toFixed(2)}/s in one process (${thumbs} in ${seconds} s)`,
    ].join('\n')
  } finally {
    await clients.internal.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined)
    await clients.internal.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined)
    clients.internal.destroy()
    await rm(join(dir, key), { force: true })
  }
}

/** One round's two sides; the `on` side's settling is its scans (or deliveries) of the round, all recorded. */
interface Round { readonly off: SideRun<FlowResult>, readonly on: SideRun<FlowResult> }

/**
 * upload → S3 → confirm on two filegate processes of the same build, one with SCANNER=clamav against `clamd` and one
 * without, driven one at a time in alternating rounds (as bench/events.ts drives webhooks on and off). The scanning
 * side's round ends once every scan of it is recorded, so its scans count against its own round and not the next side's.
 * `context.bucket` must be this bench's own: the outbox under it holds only the scanning side's events.
 */
export async function runScanConfirmBench (context: EventsBenchContext, clamd: BenchClamd, perSecond = OPEN_LOOP_FLOWS_PER_SECOND): Promise<string> {
  const { admin, bucket, rounds, seconds, concurrency, token, progress } = context
  // A file.created event leaves the outbox once its scan is recorded (no file.scanned is written: no consumer wants it).
  const scansDone = async (): Promise<boolean> => {
    let continuation: string | undefined
    do {
      const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: OUTBOX_PREFIX, ContinuationToken: continuation }))
      if ((page.Contents ?? []).some((o) => typeOfEvent(eventIdOfOutboxKey(o.Key ?? '') ?? '') === 'file.created')) return false
      continuation = page.NextContinuationToken
    } while (continuation !== undefined)
    return true
  }
  const waitForScans = async (): Promise<void> => { await waitFor('the round\'s scans (no file.created event left in the outbox)', scansDone, 120_000, 250) }
  const off = await context.startFilegate({})
  const on = await context.startFilegate({ SCANNER: 'clamav', CLAMD_HOST: clamd.address.host, CLAMD_PORT: String(clamd.address.port) })
  // A third side, to tell the event's own cost from the scan's: webhooks to a receiver answering at once, no scanning.
  const receiver = await startReceiver()
  let before = 0
  const hooked = await context.startFilegate({ WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}` })
  const { storeCpuSeconds } = context
  let runs: Round[]
  let openRuns: Round[]
  let hookedRuns: Round[]
  try {
    // One untimed second each, so neither side's first round carries its warm-up.
    progress('scan on vs off: warming up the three filegate processes (no scanning, scanning, webhooks)')
    for (const server of [off, on, hooked]) await driveFlows({ base: server.base, token: (i) => token(i + 997), concurrency, seconds: 1, bytes: 1024 })
    await waitForScans()
    // The scanning side really scans: one file of its goes pending → clean.
    const probeId = await uploadFlow(on.base, token(0), new Uint8Array(1024).fill(120))
    const scanOf = async (): Promise<unknown> => {
      const res = await fetch(`${on.base}/files/${probeId}`, { headers: { authorization: `Bearer ${token(0)}` } })
      const record = await res.json() as { scan?: { status?: unknown } }
      return record.scan?.status
    }
    const first = await scanOf()
    if (first !== 'pending' && first !== 'clean') throw new Error(`the scanning side's file has scan status ${String(first)}`)
    await waitFor('the probe file\'s clean verdict', async () => await scanOf() === 'clean', 60_000, 100)
    runs = await alternatingRounds({
      rounds, off, on, progress, storeCpuSeconds,
      describe: (round, side) => `round ${round + 1}/${rounds}: upload → S3 → confirm, SCANNER=${side === 'on' ? 'clamav' : 'none'}`,
      drive: async (server, round) => await driveFlows({ base: server.base, token: (i) => token(i + 17 * round), concurrency, seconds, bytes: 1024 }),
      // The server's CPU per flow then covers the round's scans (S3 read, clamd, record update).
      settle: waitForScans,
    })
    // Open loop: the same rounds at a fixed arrival rate well under saturation, so the scan jobs have a core to spare.
    openRuns = await alternatingRounds({
      rounds, off, on, progress, storeCpuSeconds,
      describe: (round, side) => `open loop round ${round + 1}/${rounds}: ${perSecond} flows/s, SCANNER=${side === 'on' ? 'clamav' : 'none'}`,
      drive: async (server, round) => await driveOpenFlows({ base: server.base, token: (i) => token(i + 17 * round + 500), perSecond, seconds, bytes: 1024 }),
      settle: async () => { await waitFor('the open-loop round\'s scans (no file.created event left in the outbox)', scansDone, 120_000, 50) },
    })
    // The same open loop with webhooks instead of scanning: an event written with each confirm and delivered at once.
    hookedRuns = await alternatingRounds({
      rounds, off, on: hooked, progress, storeCpuSeconds,
      describe: (round, side) => `open loop round ${round + 1}/${rounds}: ${perSecond} flows/s, ${side === 'on' ? 'WEBHOOK_URLS set, no scanning' : 'SCANNER=none'}`,
      drive: async (server, round) => {
        before = receiver.seen.size
        return await driveOpenFlows({ base: server.base, token: (i) => token(i + 17 * round + 900), perSecond, seconds, bytes: 1024 })
      },
      settle: async (result) => { await waitFor('the open-loop round\'s deliveries', () => receiver.seen.size - before >= result.completed, 120_000, 50) },
    })
  } finally {
    await Promise.all([off.stop(), on.stop(), hooked.stop()])
    await receiver.close()
  }

  const of = (pick: (r: Round) => number): number[] => runs.map(pick)
  const latency = (side: 'off' | 'on', which: 'confirmP50Ms' | 'confirmP99Ms' | 'p50Ms' | 'p99Ms') => ms(median(of((r) => r[side].result[which])))
  const offRates = of((r) => r.off.result.rps)
  const onRates = of((r) => r.on.result.rps)
  const errors = runs.reduce((n, r) => n + r.off.result.errors + r.on.result.errors, 0)
  const table = renderTable(
    [`confirm with scanning on vs off (${rounds} alternating rounds of ${seconds} s, ${concurrency} flows at a time, 1 KiB files)`, 'flows/s median (min–max)', 'confirm p50 / p99', 'whole flow p50 / p99', 'filegate / S3 store CPU per flow', 'ratio (paired by round)'],
    [
      ['upload → S3 → confirm, SCANNER=none', spread(offRates), `${latency('off', 'confirmP50Ms')} / ${latency('off', 'confirmP99Ms')}`, `${latency('off', 'p50Ms')} / ${latency('off', 'p99Ms')}`, `${us(of((r) => r.off.cpuUs))} / ${us(of((r) => r.off.storeCpuUs))}`, '1.00× off'],
      ['the same, SCANNER=clamav (the round\'s files all scanned before the next side runs)', spread(onRates), `${latency('on', 'confirmP50Ms')} / ${latency('on', 'confirmP99Ms')}`, `${latency('on', 'p50Ms')} / ${latency('on', 'p99Ms')}`, `${us(of((r) => r.on.cpuUs))} / ${us(of((r) => r.on.storeCpuUs))}`, `flows/s ${ratio(pairedRatios(onRates, offRates), 'off')}`],
      ['  confirm latency, scanning on over off', '', `${ratio(pairedRatios(of((r) => r.on.result.confirmP50Ms), of((r) => r.off.result.confirmP50Ms)), 'off')} / ${ratio(pairedRatios(of((r) => r.on.result.confirmP99Ms), of((r) => r.off.result.confirmP99Ms)), 'off')}`, '', '', 'p50 / p99, paired by round'],
      ['  … flows/s counted until the round\'s last scan was recorded', spread(of((r) => r.on.sustained)), `scans finished ${ms(median(of((r) => r.on.settleMs)))} after the round`, '', '', ratio(pairedRatios(of((r) => r.on.sustained), offRates), 'off')],
    ],
  )
  const openTable = (title: string, onLabel: string, rows: readonly Round[], settled: string): string => {
    const open = (pick: (r: Round) => number): number[] => rows.map(pick)
    const openLatency = (side: 'off' | 'on', which: 'confirmP50Ms' | 'confirmP99Ms' | 'p50Ms' | 'p99Ms') => ms(median(open((r) => r[side].result[which])))
    const drains = open((r) => r.on.settleMs)
    const kept = drains.filter((d) => d <= OPEN_LOOP_DRAIN_MS).length
    return renderTable(
      [`${title} (${rounds} alternating rounds of ${seconds} s, 1 KiB files)`, 'flows/s median (min–max)', 'confirm p50 / p99', 'whole flow p50 / p99', 'filegate / S3 store CPU per flow', 'ratio (paired by round)'],
      [
        ['upload → S3 → confirm, SCANNER=none', spread(open((r) => r.off.result.rps)), `${openLatency('off', 'confirmP50Ms')} / ${openLatency('off', 'confirmP99Ms')}`, `${openLatency('off', 'p50Ms')} / ${openLatency('off', 'p99Ms')}`, `${us(open((r) => r.off.cpuUs))} / ${us(open((r) => r.off.storeCpuUs))}`, '1.00× off'],
        [onLabel, spread(open((r) => r.on.result.rps)), `${openLatency('on', 'confirmP50Ms')} / ${openLatency('on', 'confirmP99Ms')}`, `${openLatency('on', 'p50Ms')} / ${openLatency('on', 'p99Ms')}`, `${us(open((r) => r.on.cpuUs))} / ${us(open((r) => r.on.storeCpuUs))}`, ''],
        ['  confirm latency, on over off', '', `${ratio(pairedRatios(open((r) => r.on.result.confirmP50Ms), open((r) => r.off.result.confirmP50Ms)), 'off')} / ${ratio(pairedRatios(open((r) => r.on.result.confirmP99Ms), open((r) => r.off.result.confirmP99Ms)), 'off')}`, '', '', 'p50 / p99, paired by round'],
        [`  ${settled} within ${OPEN_LOOP_DRAIN_MS / 1000} s of the round's last answer`, '', `${kept} of ${rows.length} rounds (after ${drains.map((d) => ms(d)).join(', ')})`, '', '', ''],
      ],
    )
  }
  const errorsOf = (rows: readonly Round[]): number => rows.reduce((n, r) => n + r.off.result.errors + r.on.result.errors, 0)
  const scanning = openTable(`open loop: ${perSecond} flows/s arriving, whatever the answers`, 'the same, SCANNER=clamav', openRuns, 'every scan of the round recorded')
  const webhooks = openTable(`the same open loop, webhooks instead of scanning: the event's own share`, 'the same, WEBHOOK_URLS set, SCANNER=none', hookedRuns, 'every event of the round delivered')
  const allErrors = errors + errorsOf(openRuns) + errorsOf(hookedRuns)
  return `${table}\n\n${scanning}\n\n${webhooks}${allErrors > 0 ? `\n\n${allErrors} flows failed: treat the figures as suspect` : ''}`
}
