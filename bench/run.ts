// npm run bench: filegate against a test S3 and a bare Fastify reference, driven A/B in rounds over loopback; prints one table.
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { createSigner } from 'fast-jwt'
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js'
import { driveFlows, driveRoutes, parseGrant, uploadFlow, type LoadResult, type RequestShape } from './load.js'
import { closeConnections, uploadThroughFilegate, uploadWithSdk, type MultipartRun } from './multipart.js'
import { mb, median, ms, pairedRatios, ratio, renderTable, spread, type Row } from './report.js'
import { BUILD_DIR, buildForBench, cpuSeconds, FILEGATE_ENTRY, pinProcess, productionNodeOptions, ROOT, rssBytes, startServer, type Server } from './servers.js'
import type { SigningRates } from './signing.js'
import { freePort } from '../test/support/free-port.js'
import { startBenchRedis, type BenchRedis } from './redis.js'
import { startBenchS3, type BenchS3 } from './test-s3.js'

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    long: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    metrics: { type: 'boolean', default: false },
    redis: { type: 'boolean', default: false },
    'multipart-only': { type: 'boolean', default: false },
    scan: { type: 'boolean', default: false },
    events: { type: 'boolean', default: false },
    'multipart-mib': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    users: { type: 'string', default: '1000' },
    'single-use-tokens': { type: 'string', default: '100000' },
    'with-sdk': { type: 'boolean', default: false },
  },
})
const ROUNDS = bounded('rounds', 1, 10)
const SECONDS = bounded('seconds', 1, 60)
const CONNECTIONS = bounded('connections', 1, 256)
const USERS = bounded('users', 1, 10_000)
const SINGLE_USE_TOKENS = bounded('single-use-tokens', 1, 1_000_000)
const MULTIPART_MIB = bounded('multipart-mib', 0, 4096)
/** Parts in flight at once, on both sides of the multipart figure (the browser client's default). */
const MULTIPART_PARALLEL = 4
const MEMORY_SECONDS = flags.long ? 60 : 2 * SECONDS
const FLOW_CONCURRENCY = 8
const SERVER_CORE = 0
const LOAD_CORE = 1

function bounded (name: 'rounds' | 'seconds' | 'connections' | 'users' | 'multipart-mib' | 'single-use-tokens', min: number, max: number): number {
  const value = Number(flags[name])
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`)
  return value
}

const progress = (text: string) => { process.stderr.write(`bench: ${text}\n`) }
/**
 * Node arguments that run a TypeScript entry: built by buildForBench, or through tsx with --tsx. filegate runs as its
 * production bundle, with the node options of the Dockerfile's CMD.
 */
const entry = (source: string): string[] => flags.tsx ? ['--import', 'tsx', source]
  : source === 'src/server.ts' ? [...productionNodeOptions(), FILEGATE_ENTRY] : [join(BUILD_DIR, source.replace(/\.ts$/, '.js'))]
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds))

// The load generator (this process) goes on one core and the servers under test on the other, once the S3
// (whose processes would inherit this process's affinity) has started.
let pinned = false
let serverCore: number | undefined
const loadBefore = loadavg()

const JWT_SECRET = randomBytes(24).toString('hex')
const signToken = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3 * 3600_000 })
const tokens = Array.from({ length: USERS }, (_, i) => signToken({ sub: `bench-user-${String(i).padStart(4, '0')}` }))
const tokenOf = (i: number) => tokens[i % USERS] ?? ''
/** Tokens of as many users, each sent once (until the run has used them all): every verification misses a token cache. */
let singleUseTokens: string[] = []
let singleUseNext = 0
const singleUseToken = () => singleUseTokens[singleUseNext++ % SINGLE_USE_TOKENS] ?? ''
const UPLOAD_BODY = JSON.stringify({ filename: 'Quarterly report.pdf', content_type: 'application/pdf', size: 48213, metadata: { project: 'bench' } })

/** The rows the same-work comparison names. */
const ROUTE = {
  grant: 'POST /files/upload-url',
  grantMisses: 'POST /files/upload-url, single-use tokens',
  refRecord: 'reference: record read, raw signed GET',
  download: 'GET /files/download/:id',
  record: 'GET /files/:id',
  refConfirm: 'reference: confirm\'s S3 work (flows/s)',
  flow: 'upload → S3 → confirm (flows/s)',
  sdkDownload: 'GET /files/download/:id, S3_CLIENT=sdk',
  sdkRecord: 'GET /files/:id, S3_CLIENT=sdk',
  sdkFlow: 'upload → S3 → confirm, S3_CLIENT=sdk (flows/s)',
} as const

const servers: Server[] = []
let s3: BenchS3 | undefined
let redis: BenchRedis | undefined
let admin: S3Client | undefined
let bucket = ''
let stopping = false
async function cleanUp (): Promise<void> {
  if (stopping) return
  stopping = true
  closeConnections()
  await Promise.all(servers.map((s) => s.stop()))
  if (admin !== undefined && s3 !== undefined && s3.source.startsWith('TEST_S3_ENDPOINT') && bucket !== '') await emptyAndDelete(admin, bucket).catch(() => undefined)
  admin?.destroy()
  s3?.stop()
  redis?.stop()
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { void cleanUp().then(() => process.exit(130)) })

async function emptyAndDelete (client: S3Client, name: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: name }))
    const keys = (page.Contents ?? []).flatMap((o) => o.Key === undefined ? [] : [{ Key: o.Key }])
    if (keys.length === 0) break
    await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }))
  }
  await client.send(new DeleteBucketCommand({ Bucket: name }))
}

function filegateEnv (store: BenchS3, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.TMPDIR !== undefined && { TMPDIR: process.env.TMPDIR }),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    S3_ENDPOINT: store.endpoint,
    S3_REGION: store.region,
    S3_FORCE_PATH_STYLE: 'true',
    S3_BUCKET: bucket,
    AWS_ACCESS_KEY_ID: store.accessKeyId,
    AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
    JWT_SECRET,
    // Large enough for the multipart figure; every grant of the other figures declares its size.
    MAX_FILE_SIZE: '4GiB',
    // Per-owner rate limits stay on (their cost is part of the path) but high enough never to answer 429 here.
    RATE_LIMIT_MAX: '1000000',
  }
}

async function startFilegate (store: BenchS3, extraArgs: string[] = [], args = entry('src/server.ts'), extraEnv: NodeJS.ProcessEnv = {}): Promise<Server> {
  const port = await freePort()
  return await startServer({
    name: 'filegate', args: [...extraArgs, ...args], env: { ...filegateEnv(store, port), ...extraEnv }, port, readyPath: '/ready', core: serverCore,
  })
}

/** Per run: the load's figures, the server's RSS after it, and the server's CPU time per completed request (µs). */
interface Measured { readonly runs: LoadResult[], readonly rss: number[], readonly cpuUs: number[] }
const measured = (): Measured => ({ runs: [], rss: [], cpuUs: [] })

async function run (): Promise<void> {
  // --scan: scanning and thumbnail figures alone (bench/scan.ts): throughput in this process, then confirms with
  // SCANNER=clamav against without, on two filegate processes sharing the same clamd.
  if (flags.scan) {
    s3 = startBenchS3()
    const { runScanBench, runScanConfirmBench, startBenchClamd } = await import('./scan.js')
    // Started before this process is pinned, so clamd (like RGW) is on neither core alone.
    const clamd = await startBenchClamd(128)
    try {
      process.stdout.write(`${await runScanBench(s3, clamd, { rounds: ROUNDS })}\n`)
      if (!flags.tsx) {
        progress('bundling filegate (as npm run build does)')
        const build = await buildForBench()
        if (build.diagnostics !== '') progress(`the compiler reported type errors, compiled anyway:\n${build.diagnostics}`)
      }
      pinned = cpus().length >= 2 && pinProcess(process.pid, LOAD_CORE)
      serverCore = pinned ? SERVER_CORE : undefined
      admin = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })
      bucket = `fg-bench-${randomBytes(5).toString('hex')}`
      await admin.send(new CreateBucketCommand({ Bucket: bucket }))
      const store = s3
      const table = await runScanConfirmBench({
        admin, bucket, rounds: ROUNDS, seconds: SECONDS, concurrency: FLOW_CONCURRENCY, token: tokenOf, progress,
        startFilegate: async (env) => await startFilegate(store, [], undefined, env), storeCpuSeconds: () => store.cpuSeconds(),
      }, clamd)
      const loadAfter = loadavg()
      process.stdout.write(`${table}\n(${new Date().toISOString()}; load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after; ` +
        `${pinned ? `filegate on core ${SERVER_CORE}, load generator on core ${LOAD_CORE}, clamd and RGW on either` : 'not pinned'})\n`)
    } finally {
      await clamd.stop()
    }
    return
  }
  if (!flags.tsx) {
    progress('bundling filegate (as npm run build does) and compiling the reference server')
    const build = await buildForBench()
    if (build.diagnostics !== '') progress(`the compiler reported type errors, compiled anyway:\n${build.diagnostics}`)
  }
  s3 = startBenchS3()
  progress(`S3: ${s3.source}`)
  pinned = cpus().length >= 2 && pinProcess(process.pid, LOAD_CORE)
  serverCore = pinned ? SERVER_CORE : undefined
  admin = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })
  bucket = `fg-bench-${randomBytes(5).toString('hex')}`
  await admin.send(new CreateBucketCommand({ Bucket: bucket }))

  // --events: webhook figures alone (bench/events.ts): one dispatcher's delivery rate, confirms with webhooks on vs off.
  if (flags.events) {
    const { runEventsBench } = await import('./events.js')
    const store = s3
    const table = await runEventsBench({
      admin, bucket, rounds: ROUNDS, seconds: SECONDS, concurrency: FLOW_CONCURRENCY, token: tokenOf, progress,
      startFilegate: async (env) => await startFilegate(store, [], undefined, env), storeCpuSeconds: () => store.cpuSeconds(),
    })
    process.stdout.write(`${table}\n`)
    return
  }

  // Start to ready: three cold starts; the last one stays up as the server under test.
  const readyMs: number[] = []
  let filegate: Server | undefined
  for (let i = 0; i < (flags.quick ? 1 : 3); i++) {
    await filegate?.stop()
    filegate = await startFilegate(s3)
    readyMs.push(filegate.readyMs)
  }
  if (filegate === undefined) throw new Error('filegate did not start')
  servers.push(filegate)
  // --metrics: a second filegate, the same but with METRICS_PORT, driven on the same routes in the same rounds.
  const withMetrics = flags.metrics ? await startFilegate(s3, [], undefined, { METRICS_PORT: String(await freePort()) }) : undefined
  if (withMetrics !== undefined) servers.push(withMetrics)
  // --redis: a filegate with REDIS_URL (rate limits counted in a local redis-server), driven in the same rounds.
  if (flags.redis) redis = await startBenchRedis(await freePort(), serverCore)
  const withRedis = redis !== undefined ? await startFilegate(s3, [], undefined, { REDIS_URL: redis.url }) : undefined
  if (withRedis !== undefined) servers.push(withRedis)
  progress(`filegate ready in ${readyMs.map((v) => Math.round(v)).join(', ')} ms`)

  if (flags['multipart-only']) {
    const multipart = await measureMultipart(filegate)
    process.stdout.write(`${renderMultipart(multipart)}\n`)
    return
  }

  // One file per user, through the real flow, for the download and record routes.
  if (!flags.quick) progress(`seeding ${USERS} files (one per user)`)
  const seedBody = new Uint8Array(1024).fill(120)
  const ids: string[] = new Array<string>(USERS)
  let next = 0
  await Promise.all(Array.from({ length: FLOW_CONCURRENCY }, async () => {
    while (next < USERS && !flags.quick) {
      const i = next++
      ids[i] = await uploadFlow(filegate.base, tokenOf(i), seedBody)
    }
  }))
  const idOf = (i: number) => ids[i % USERS] ?? ''

  // The reference answers with a grant filegate really issued: the same size and shape.
  const sample = await fetch(`${filegate.base}/files/upload-url`, { method: 'POST', headers: { authorization: `Bearer ${tokenOf(0)}`, 'content-type': 'application/json' }, body: UPLOAD_BODY })
  const sampleGrant: unknown = await sample.json()
  parseGrant(sampleGrant)
  const grantJson = JSON.stringify(sampleGrant)
  const refPort = await freePort()
  const reference = await startServer({
    name: 'reference', args: entry('bench/reference-server.ts'), port: refPort, readyPath: '/hello', core: serverCore,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: String(refPort), REFERENCE_REPLY: grantJson,
      S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_BUCKET: bucket, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    },
  })
  servers.push(reference)
  // --with-sdk: a second filegate on the same store with the AWS SDK for every S3 call (the "before" of the lean client).
  let sdkFilegate: Server | undefined
  if (flags['with-sdk']) {
    sdkFilegate = await startFilegate(s3, [], entry('src/server.ts'), { S3_CLIENT: 'sdk' })
    servers.push(sdkFilegate)
  }
  if (!flags.quick) {
    progress(`signing ${SINGLE_USE_TOKENS} single-use tokens`)
    singleUseTokens = Array.from({ length: SINGLE_USE_TOKENS }, (_, i) => signToken({ sub: `bench-once-${i}` }))
  }

  // In-process signing, on the servers' core while they idle.
  progress('in-process signing rates')
  const signingRates = flags.quick ? { hmac: [], uploadPolicy: [], downloadUrl: [], sdkCreatePresignedPost: [], sdkGetSignedUrl: [] } : measureSigningInChild()

  const json = { 'content-type': 'application/json' }
  const auth = (i: number) => ({ authorization: `Bearer ${tokenOf(i)}` })
  const grantShape: RequestShape = { method: 'POST', body: UPLOAD_BODY, request: (i) => ({ path: '/files/upload-url', headers: { ...json, ...auth(i) } }) }
  const downloadShape: RequestShape = { method: 'GET', request: (i) => ({ path: `/files/download/${idOf(i)}`, headers: auth(i) }) }
  const recordShape: RequestShape = { method: 'GET', request: (i) => ({ path: `/files/${idOf(i)}`, headers: auth(i) }) }
  const singleUseShape: RequestShape = { method: 'POST', body: UPLOAD_BODY, request: () => ({ path: '/files/upload-url', headers: { ...json, authorization: `Bearer ${singleUseToken()}` } }) }
  type Route = { server: Server, shapes: RequestShape[] } | { flow: Server, confirm: Server }
  const routes: Record<string, Route> = {
    'reference GET /hello': { server: reference, shapes: [{ method: 'GET', request: () => ({ path: '/hello', headers: {} }) }] },
    'reference POST (upload-url\'s HTTP work)': { server: reference, shapes: [{ method: 'POST', body: UPLOAD_BODY, request: () => ({ path: '/upload-url', headers: json }) }] },
    [ROUTE.grant]: { server: filegate, shapes: [grantShape] },
    [ROUTE.grantMisses]: { server: filegate, shapes: [singleUseShape] },
    [ROUTE.refRecord]: { server: reference, shapes: [{ method: 'GET', request: (i) => ({ path: `/record/${idOf(i)}`, headers: {} }) }] },
    [ROUTE.download]: { server: filegate, shapes: [downloadShape] },
    [ROUTE.record]: { server: filegate, shapes: [recordShape] },
    [ROUTE.refConfirm]: { flow: filegate, confirm: reference },
    [ROUTE.flow]: { flow: filegate, confirm: filegate },
    ...(sdkFilegate !== undefined && {
      [ROUTE.sdkDownload]: { server: sdkFilegate, shapes: [downloadShape] },
      [ROUTE.sdkRecord]: { server: sdkFilegate, shapes: [recordShape] },
      [ROUTE.sdkFlow]: { flow: sdkFilegate, confirm: sdkFilegate },
    }),
    ...(withMetrics !== undefined && {
      [`${ROUTE.grant} ${METRICS_ON}`]: { server: withMetrics, shapes: [grantShape] },
      [`${ROUTE.record} ${METRICS_ON}`]: { server: withMetrics, shapes: [recordShape] },
    }),
    ...(withRedis !== undefined && {
      [`${ROUTE.grant} ${REDIS_ON}`]: { server: withRedis, shapes: [grantShape] },
    }),
  }
  // --quick: the reference routes without S3 and upload-url only, which need no files in S3.
  const names = Object.keys(routes).filter((name) => !flags.quick || name === 'reference GET /hello' || name === 'reference POST (upload-url\'s HTTP work)' || name === ROUTE.grant || name === `${ROUTE.grant} ${METRICS_ON}` || name === `${ROUTE.grant} ${REDIS_ON}`)
  const results = new Map(names.map((n) => [n, measured()]))
  for (let round = 0; round < ROUNDS; round++) {
    // A/B alternation: the reference first in even rounds, filegate first in odd ones.
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const name of order) {
      const route = routes[name]
      if (route === undefined) continue
      progress(`round ${round + 1}/${ROUNDS}: ${name}`)
      // A flow's CPU is that of the server that confirms: filegate's covers the grant too, the reference's its S3 work alone.
      const pid = 'flow' in route ? route.confirm.pid : route.server.pid
      const cpuBefore = cpuSeconds(pid)
      const result = 'flow' in route
        ? await driveFlows({ base: route.flow.base, confirmBase: route.confirm.base, token: (i) => tokenOf(i + 7 * round), concurrency: FLOW_CONCURRENCY, seconds: SECONDS, bytes: 1024 })
        : await driveRoutes({ url: route.server.base, shapes: route.shapes, connections: CONNECTIONS, seconds: SECONDS })
      results.get(name)?.runs.push(result)
      results.get(name)?.rss.push(rssBytes(pid))
      // CPU per request does not depend on how much of the core the server got: robust on a shared machine.
      results.get(name)?.cpuUs.push((cpuSeconds(pid) - cpuBefore) * 1e6 / result.completed)
      await sleep(500)
    }
  }

  // Memory: three runs of a mixed load (grants, downloads, records) back to back; RSS after each.
  const memory: number[] = []
  for (let i = 0; i < (flags.quick ? 0 : 3); i++) {
    progress(`memory run ${i + 1}/3 (${MEMORY_SECONDS} s, mixed)`)
    await driveRoutes({
      url: filegate.base,
      connections: CONNECTIONS,
      seconds: MEMORY_SECONDS,
      shapes: [grantShape, downloadShape, recordShape],
    })
    memory.push(rssBytes(filegate.pid))
  }

  const multipart = flags.quick || MULTIPART_MIB === 0 ? undefined : await measureMultipart(filegate)

  let profile: Profiled | undefined
  if (flags.profile) profile = await profileUploadUrl(s3)

  const loadAfter = loadavg()
  const report = buildReport({ names, results, signingRates, readyMs, memory, loadAfter })
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...report.json, ...(multipart !== undefined && { multipart }), ...(profile !== undefined && { profile }) }, null, 2)}\n`)
  } else {
    process.stdout.write(`${report.text}\n`)
    if (withMetrics !== undefined) process.stdout.write(`\n${renderMetricsCost(names, results)}\n`)
    if (withRedis !== undefined) process.stdout.write(`\n${renderMetricsCost(names, results, REDIS_ON, 'REDIS_URL set vs unset')}\n`)
    if (multipart !== undefined) process.stdout.write(`\n${renderMultipart(multipart)}\n`)
    if (profile !== undefined) printProfile(profile)
  }
}

/** The label of the routes driven on the filegate with METRICS_PORT set (--metrics). */
const METRICS_ON = '(metrics on)'
/** The label of the routes driven on the filegate with REDIS_URL set (--redis). */
const REDIS_ON = '(REDIS_URL)'

/**
 * What metrics cost per request: the server CPU per request with METRICS_PORT set minus without, paired by round (both
 * ran in the same round, one after the other), median and range over the rounds.
 */
function renderMetricsCost (names: string[], results: Map<string, Measured>, label = METRICS_ON, title = 'metrics on vs off'): string {
  const rows: Row[] = []
  for (const name of names.filter((n) => n.endsWith(label))) {
    const off = results.get(name.slice(0, -label.length - 1))?.cpuUs ?? []
    const on = results.get(name)?.cpuUs ?? []
    const diffs = on.map((value, i) => value - (off[i] ?? Number.NaN)).filter(Number.isFinite)
    if (diffs.length === 0) continue
    const us = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)} µs`
    rows.push([name.slice(0, -label.length - 1), `${median(off).toFixed(1)} µs`, `${median(on).toFixed(1)} µs`, `${us(median(diffs))} (${us(Math.min(...diffs))} to ${us(Math.max(...diffs))})`])
  }
  return renderTable([`${title} (server CPU per request)`, 'off (median)', 'on (median)', 'cost per request, paired by round: median (min to max)'], rows)
}

interface MultipartFigure { readonly bytes: number, readonly partSize: number, readonly parallel: number, readonly filegate: MultipartRun[], readonly sdk: MultipartRun[] }

/**
 * One upload of MULTIPART_MIB through filegate's API and one with the SDK's own multipart calls per round, in alternating
 * order, same bytes, part size (filegate's choice) and concurrency. Each object is deleted before the next run.
 */
async function measureMultipart (filegate: Server): Promise<MultipartFigure> {
  if (admin === undefined) throw new Error('no S3 client')
  const bytes = new Uint8Array(MULTIPART_MIB * 1024 * 1024)
  for (let i = 0; i < bytes.length; i += 65536) bytes.set(randomBytes(Math.min(65536, bytes.length - i)), i)
  const runs: MultipartFigure = { bytes: bytes.length, partSize: 0, parallel: MULTIPART_PARALLEL, filegate: [], sdk: [] }
  let partSize = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? ['filegate', 'sdk'] as const : ['sdk', 'filegate'] as const) {
      progress(`round ${round + 1}/${ROUNDS}: multipart upload of ${MULTIPART_MIB} MiB, ${side === 'filegate' ? 'through filegate' : 'raw SDK'}`)
      if (side === 'filegate') {
        const run = await uploadThroughFilegate(filegate.base, tokenOf(round), bytes, MULTIPART_PARALLEL)
        partSize = run.partSize
        runs.filegate.push(run)
      } else {
        // The first round may run the SDK first: filegate's part size for this size is 8 MiB up to 80,000 MiB.
        runs.sdk.push(await uploadWithSdk(admin, bucket, bytes, partSize === 0 ? 8 * 1024 * 1024 : partSize, MULTIPART_PARALLEL))
      }
      await sleep(500)
    }
  }
  return { ...runs, partSize }
}

function renderMultipart (figure: MultipartFigure): string {
  const rate = (runs: MultipartRun[]) => runs.map((r) => r.mibPerSecond)
  const seconds = (runs: MultipartRun[]) => `${median(runs.map((r) => r.seconds)).toFixed(2)} s`
  const title = `multipart upload of ${figure.bytes / 1024 / 1024} MiB (${figure.partSize / 1024 / 1024} MiB parts, ${figure.parallel} at a time)`
  return renderTable([title, 'MiB/s median (min–max)', 'time (median)', 'ratio (MiB/s)'], [
    ['raw SDK: CreateMultipartUpload, UploadPart, Complete', spread(rate(figure.sdk)), seconds(figure.sdk), '1.00× raw SDK'],
    ['filegate API: create, sign, PUT parts, complete', spread(rate(figure.filegate)), seconds(figure.filegate), ratio(pairedRatios(rate(figure.filegate), rate(figure.sdk)), 'raw SDK')],
  ])
}

function measureSigningInChild (): SigningRates {
  const args = entry('bench/signing.ts')
  const command = serverCore !== undefined ? ['taskset', '-c', String(serverCore), process.execPath, ...args] : [process.execPath, ...args]
  const [file = process.execPath, ...rest] = command
  // Synchronous on purpose: nothing else runs meanwhile, so the rates are undisturbed by this process.
  const out = spawnSync(file, rest, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SIGNING_ROUNDS: String(ROUNDS), SIGNING_MS: '1000' }, timeout: 300_000 })
  if (out.status !== 0) throw new Error(`bench/signing.ts failed:\n${out.stderr}`)
  const parsed: unknown = JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}')
  const keys = ['hmac', 'uploadPolicy', 'downloadUrl', 'sdkCreatePresignedPost', 'sdkGetSignedUrl'] as const
  if (typeof parsed !== 'object' || parsed === null || !keys.every((k) => Array.isArray((parsed as Record<string, unknown>)[k]))) throw new Error('bench/signing.ts printed no rates')
  return parsed as SigningRates
}

/** A separate filegate under --cpu-prof, driven on upload-url, then summarised (where the time goes). */
interface Profiled extends ProfileSummary { readonly requests: number }

async function profileUploadUrl (store: BenchS3): Promise<Profiled> {
  progress('profiling POST /files/upload-url')
  const dir = mkdtempSync(join(tmpdir(), 'filegate-bench-prof-'))
  try {
    // Not the bundle: a profile names the files its functions are in, and the summary tells packages apart by those.
    const unbundled = flags.tsx ? entry('src/server.ts') : [...productionNodeOptions(), join(BUILD_DIR, 'src', 'server.js')]
    const server = await startFilegate(store, ['--cpu-prof', `--cpu-prof-dir=${dir}`], unbundled)
    const load = await driveRoutes({
      url: server.base, connections: CONNECTIONS, seconds: SECONDS,
      shapes: [{ method: 'POST', body: UPLOAD_BODY, request: (i) => ({ path: '/files/upload-url', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(i)}` } }) }],
    })
    await server.stop()
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error('the profiled server wrote no .cpuprofile')
    // Start-up is left out: the profile starts with the process, the load once it was ready.
    return { ...summarizeProfile(join(dir, file), { top: 20, skipMs: server.readyMs }), requests: load.completed + load.errors }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function printProfile (profile: Profiled): void {
  process.stdout.write(`\nCPU profile of POST /files/upload-url under load: ${Math.round(profile.totalMs)} ms sampled over ${profile.requests} requests; self time,\n` +
    'by concern (each sample goes to the nearest frame on its stack that does one), by package and by function:\n')
  const usPerRequest = (percent: number) => `${(percent / 100 * profile.totalMs * 1000 / profile.requests).toFixed(1)} µs`
  const rows = (lines: ProfileSummary['functions']) => lines.map((l) => [`${l.percent.toFixed(1)} %`, usPerRequest(l.percent), l.name])
  process.stdout.write([
    renderTable(['share', 'per request', 'concern'], rows(profile.concerns)),
    renderTable(['share', 'per request', 'package'], rows(profile.packages.slice(0, 12))),
    renderTable(['share', 'per request', 'function'], rows(profile.functions)),
  ].join('\n\n') + '\n')
}

function buildReport ({ names, results, signingRates, readyMs, memory, loadAfter }: {
  names: string[], results: Map<string, Measured>, signingRates: SigningRates, readyMs: number[], memory: number[], loadAfter: number[]
}) {
  const rps = (name: string) => results.get(name)?.runs.map((r) => r.rps) ?? []
  const hello = rps(names[0] ?? '')
  const refPost = rps(names[1] ?? '')
  const cpuOf = (name: string) => results.get(name)?.cpuUs ?? []
  // The CPU ratio is the req/s ratio a saturated core would give: the reference's CPU per request over this route's.
  const refPostCpu = cpuOf(names[1] ?? '')
  const rows: Row[] = names.map((name, i) => {
    const m = results.get(name) ?? measured()
    return [
      name,
      spread(m.runs.map((r) => r.rps)),
      ms(median(m.runs.map((r) => r.p50Ms))),
      ms(median(m.runs.map((r) => r.p99Ms))),
      mb(median(m.rss)),
      Number.isFinite(median(m.cpuUs)) ? `${median(m.cpuUs).toFixed(0)} µs` : '–',
      i === 1 ? '1.00× ref POST' : ratio(pairedRatios(rps(name), refPost), 'ref POST'),
      i === 1 ? '1.00× ref POST' : ratio(pairedRatios(refPostCpu, cpuOf(name)), 'ref POST'),
      ratio(pairedRatios(rps(name), hello), 'hello'),
      String(m.runs.reduce((sum, r) => sum + r.errors, 0)),
    ]
  })
  const hmac = signingRates.hmac
  const inProcess: Array<[string, number[]]> = [
    ['raw HMAC-SHA256, cached key (ceiling)', hmac],
    ['upload policy, filegate presigner', signingRates.uploadPolicy],
    ['download URL, filegate presigner', signingRates.downloadUrl],
    ['createPresignedPost (SDK)', signingRates.sdkCreatePresignedPost],
    ['getSignedUrl (SDK)', signingRates.sdkGetSignedUrl],
  ]
  const blank = (cells: string[]): Row => [...cells, ...Array<string>(10 - cells.length).fill('')]
  rows.push(blank(['**in-process, one core** (ops/s)']))
  for (const [name, values] of inProcess) rows.push(blank([name, spread(values), '', '', '', '', ratio(pairedRatios(values, hmac), 'HMAC')]))
  rows.push(blank([`start → /ready 200 (${readyMs.length} cold starts)`, `${ms(median(readyMs))} (${ms(Math.min(...readyMs))}–${ms(Math.max(...readyMs))})`]))
  if (memory.length === 3) rows.push(blank([`RSS after 3 mixed runs of ${MEMORY_SECONDS} s`, memory.map(mb).join(', '), '', '', '', '', `growth 2nd→3rd: ${(((memory[2] ?? 0) - (memory[1] ?? 0)) / 1024 / 1024).toFixed(1)} MB`]))

  // Same work: each filegate route beside the bare reference doing the same S3 (or HTTP) work, ratios round by round.
  const sameWorkPairs: Array<[string, string]> = [
    [ROUTE.record, ROUTE.refRecord], [ROUTE.download, ROUTE.refRecord], [ROUTE.flow, ROUTE.refConfirm],
    [ROUTE.sdkRecord, ROUTE.refRecord], [ROUTE.sdkDownload, ROUTE.refRecord], [ROUTE.sdkFlow, ROUTE.refConfirm],
    [ROUTE.grant, names[1] ?? ''], [ROUTE.grantMisses, names[1] ?? ''],
  ]
  const sameWork = sameWorkPairs.filter(([a, b]) => names.includes(a) && names.includes(b)).map(([route, reference]) => ({
    route,
    reference,
    cpuUs: median(cpuOf(route)),
    referenceCpuUs: median(cpuOf(reference)),
    cpuRatio: median(pairedRatios(cpuOf(route), cpuOf(reference))),
    rpsRatio: median(pairedRatios(rps(route), rps(reference))),
  }))
  const us = (v: number) => Number.isFinite(v) ? `${v.toFixed(0)} µs` : '–'
  const times = (v: number) => Number.isFinite(v) ? `${v.toFixed(2)}×` : '–'
  const sameWorkTable = renderTable(['route', 'same-work reference', 'server CPU/req', 'reference CPU/req', 'CPU × reference', 'req/s × reference'],
    sameWork.map((w) => [w.route, w.reference, us(w.cpuUs), us(w.referenceCpuUs), times(w.cpuRatio), times(w.rpsRatio)]))

  const cpu = cpus()
  const machine = `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}, Node ${process.version}, ${process.platform}; ` +
    `${pinned ? `server on core ${SERVER_CORE}, load generator on core ${LOAD_CORE} (taskset)` : 'not pinned (no taskset or one core)'}; ` +
    `load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after`
  const settings = `servers ${flags.tsx ? 'run from sources through tsx' : 'compiled to JavaScript, as in production'}, logging as shipped (LOG_LEVEL=info, to /dev/null); ${ROUNDS} A/B rounds × ${SECONDS} s per route, ${CONNECTIONS} connections, tokens of ${USERS} users, flows ${FLOW_CONCURRENCY} at a time with 1 KiB files; S3: ${s3?.source ?? ''}`
  const text = [
    `filegate benchmark, ${new Date().toISOString()}`,
    machine,
    settings,
    '',
    renderTable(['route', 'req/s median (min–max)', 'p50', 'p99', 'server RSS', 'server CPU/req', 'ratio (req/s)', 'ratio (CPU/req)', 'req/s vs hello', 'errors'], rows),
    ...(sameWork.length > 0 ? ['', 'Same work (CPU × reference: server CPU per request over the reference\'s, lower is better; a flow\'s CPU on filegate covers its grant too):', '', sameWorkTable] : []),
  ].join('\n')
  const json = {
    date: new Date().toISOString(),
    machine: { cpu: cpu[0]?.model.trim(), cores: cpu.length, node: process.version, pinned, loadBefore, loadAfter },
    settings: { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, users: USERS, memorySeconds: MEMORY_SECONDS, s3: s3?.source },
    routes: Object.fromEntries(names.map((name) => [name, {
      rps: results.get(name)?.runs.map((r) => r.rps),
      p50Ms: results.get(name)?.runs.map((r) => r.p50Ms),
      p99Ms: results.get(name)?.runs.map((r) => r.p99Ms),
      rssBytes: results.get(name)?.rss,
      errors: results.get(name)?.runs.map((r) => r.errors),
      serverCpuUsPerRequest: results.get(name)?.cpuUs,
      ratioToReferencePost: median(pairedRatios(rps(name), refPost)),
      cpuRatioToReferencePost: median(pairedRatios(refPostCpu, cpuOf(name))),
      ratioToHello: median(pairedRatios(rps(name), hello)),
    }])),
    sameWork,
    signing: signingRates,
    startToReadyMs: readyMs,
    memoryRssBytes: memory,
  }
  return { text, json }
}

try {
  await run()
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  await cleanUp()
}
