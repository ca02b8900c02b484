// In-process signing rates on one thread: filegate's presigner, the SDK's presigners, and a raw HMAC-SHA256 loop as the ceiling.
import { createHmac, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { createPresigner } from '../src/storage/presigner.js'
import { contentDisposition } from '../src/uploads/content-disposition.js'
import { newFileId } from '../src/uploads/file-id.js'

export interface SigningRates {
  /** Operations per second, one entry per round. */
  readonly hmac: number[]
  readonly uploadPolicy: number[]
  readonly downloadUrl: number[]
  readonly sdkCreatePresignedPost: number[]
  readonly sdkGetSignedUrl: number[]
}

/** Calls `op` for `ms` milliseconds (after a short warm-up) and returns calls per second. */
async function rate (op: (i: number) => unknown, ms: number): Promise<number> {
  for (let i = 0; i < 500; i++) await op(i)
  let count = 0
  const start = performance.now()
  const end = start + ms
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) await op(count++)
  }
  return count / ((performance.now() - start) / 1000)
}

export async function measureSigning ({ rounds, ms }: { rounds: number, ms: number }): Promise<SigningRates> {
  // Signing needs no network: the endpoint rules and static credentials are resolved in-process.
  const client = new S3Client({
    region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true,
    credentials: { accessKeyId: 'bench-access-key', secretAccessKey: 'bench-secret-key' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  })
  const bucket = 'bench'
  const presigner = createPresigner(client, bucket)
  // Inputs shaped like filegate's: a date-layout key per call, owner and filename metadata, a Content-Disposition.
  const keys = Array.from({ length: 1024 }, () => `uploads/2026/11/25/${newFileId()}.pdf`)
  const keyOf = (i: number) => keys[i & 1023] ?? 'k'
  const fields = { 'Content-Type': 'application/pdf', 'x-amz-meta-uploaded-by': 'user-0042', 'x-amz-meta-filename': 'report.pdf', 'x-amz-meta-project': 'bench' }
  const disposition = contentDisposition('attachment', 'Quarterly report.pdf')
  // A signing key, and a string-to-sign as long as a GET URL's: the cost of one signature with a cached key.
  const signingKey = randomBytes(32)
  const stringToSign = `AWS4-HMAC-SHA256\n20261125T120000Z\n20261125/us-east-1/s3/aws4_request\n${'0'.repeat(64)}`

  const ops: Record<keyof SigningRates, (i: number) => unknown> = {
    hmac: () => createHmac('sha256', signingKey).update(stringToSign).digest('hex'),
    uploadPolicy: (i) => presigner.presignPost({ key: keyOf(i), fields, contentLength: [1, 10 * 1024 * 1024], expiresSeconds: 900 }),
    downloadUrl: (i) => presigner.presignGet({ key: keyOf(i), responseContentDisposition: disposition, responseContentType: 'application/pdf', expiresSeconds: 300 }),
    sdkCreatePresignedPost: (i) => createPresignedPost(client, { Bucket: bucket, Key: keyOf(i), Conditions: [['content-length-range', 1, 10 * 1024 * 1024]], Fields: fields, Expires: 900 }),
    sdkGetSignedUrl: (i) => getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: keyOf(i), ResponseContentDisposition: disposition, ResponseContentType: 'application/pdf' }), { expiresIn: 300 }),
  }
  const rates: SigningRates = { hmac: [], uploadPolicy: [], downloadUrl: [], sdkCreatePresignedPost: [], sdkGetSignedUrl: [] }
  // Interleaved rounds, so that a noisy neighbour slows every figure alike.
  for (let r = 0; r < rounds; r++) {
    for (const name of Object.keys(ops) as Array<keyof SigningRates>) rates[name].push(await rate(ops[name], ms))
  }
  client.destroy()
  return rates
}

// Run as a child process (pinned to its own core by bench/run.ts): prints the rates as one JSON line.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.SIGNING_ROUNDS ?? 3)
  const ms = Number(process.env.SIGNING_MS ?? 1000)
  process.stdout.write(`${JSON.stringify(await measureSigning({ rounds, ms }))}\n`)
}
