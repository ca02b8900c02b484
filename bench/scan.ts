// npm run bench -- --scan: scan throughput S3 → filegate's clamd client → clamd against clamdscan --stream, and thumbnails per second.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import sharp from 'sharp'
import { loadConfig } from '../src/config.js'
import { pingClamd, scanStream } from '../src/scanning/clamd-client.js'
import { createObjectStore, createS3Clients } from '../src/storage/s3.js'
import { renderVariant } from '../src/variants/render-variant.js'
import { freePort } from './servers.js'
import type { BenchS3 } from './test-s3.js'

const MIB = 1024 * 1024

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

/**
 * Scans one file of `mib` MiB both ways, `rounds` times, the side that goes first alternating from round to round,
 * after one untimed scan each way (clamd's first scan after it starts is several times slower than the next ones: it
 * used to land on filegate's side of round 1 every time); thumbnails of a 12 MP JPEG for `seconds`.
 */
export async function runScanBench (s3: BenchS3, { mib = 64, rounds = 3, seconds = 5 } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'filegate-bench-clamd-'))
  const port = await freePort()
  await writeFile(join(dir, 'test.hdb'), '44d88612fea8a8f36de82e1278abb02f:68:Filegate.Test.EICAR\n')
  const conf = join(dir, 'clamd.conf')
  await writeFile(conf, [`TCPSocket ${port}`, 'TCPAddr 127.0.0.1', `DatabaseDirectory ${dir}`, 'Foreground yes', `LogFile ${join(dir, 'clamd.log')}`, `StreamMaxLength ${mib * 2}M`, ''].join('\n'))
  const clamd = spawn('clamd', ['--foreground', `--config-file=${conf}`], { stdio: 'ignore' })
  const address = { host: '127.0.0.1', port }
  const config = loadConfig({
    NODE_ENV: 'test', S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_BUCKET: `fg-bench-scan-${randomBytes(4).toString('hex')}`, JWT_SECRET: 'bench-secret-0123456789-abcdefghijklmnop',
  })
  const clients = createS3Clients(config.s3)
  const objects = createObjectStore(clients)
  const bucket = config.s3.bucket
  const key = 'scan-bench.bin'
  try {
    const deadline = Date.now() + 30_000
    while (!(await pingClamd(address, 1000))) {
      if (Date.now() > deadline || clamd.exitCode !== null) throw new Error('clamd did not start')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
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
      const verdict = await scanStream(address, object.body, { timeoutMs: 60_000, maxBytes: mib * 2 * MIB })
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
    await throughFilegate()
    throughClamdscan()
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
      `scan of ${mib} MiB, median of ${rounds} rounds after one untimed scan each way, which side goes first alternating (RGW at ${s3.source}):`,
      `  S3 → filegate (clamd client, INSTREAM) → clamd: ${f.toFixed(0)} MiB/s (${viaFilegate.map((v) => v.toFixed(0)).join(', ')})`,
      `  clamdscan --stream of the same file from disk:  ${c.toFixed(0)} MiB/s (${viaClamdscan.map((v) => v.toFixed(0)).join(', ')})`,
      `  ratio ${(f / c).toFixed(2)}× (goal 0.8×)`,
      `thumbnails (256 px WebP) of a 12 MP JPEG (${(photo.length / MIB).toFixed(1)} MiB): ${perSecond.toFixed(2)}/s in one process (${thumbs} in ${seconds} s)`,
    ].join('\n')
  } finally {
    clamd.kill('SIGTERM')
    await clients.internal.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined)
    await clients.internal.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined)
    clients.internal.destroy()
    await rm(dir, { recursive: true, force: true })
  }
}
