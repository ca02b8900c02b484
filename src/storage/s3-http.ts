// The lean S3 client: object requests signed with SigV4 headers over a pooled undici agent, with the SDK's deadline and retries.
import type { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { Agent } from 'undici'
import { StorageTimeoutError, StorageUnavailableError } from '../errors.js'
import { createRequestSigner, EMPTY_SHA256, sha256Hex, type RequestToSign } from './sigv4.js'

/**
 * Why not the SDK for these calls: a GetObject through its middleware stack costs 3–4 times the CPU of the same
 * signed request sent over undici. The SDK stays for everything else (listings, multipart, the bucket check).
 */

/** An S3 error answer: `name` is S3's `<Code>` (or, for a body-less HEAD, the SDK's name for the status). */
export class S3ResponseError extends Error {
  constructor (readonly code: string, readonly statusCode: number, message: string) {
    super(message)
    this.name = code
  }
}

export interface S3HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
}

export interface S3HttpRequest {
  readonly method: RequestToSign['method']
  readonly key: string
  /** Headers to send and sign, names lowercase. */
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** Read at most this many bytes of the body (a store that ignores Range sends the whole object). */
  readonly maxBytes?: number
  /** The call's deadline when it is not S3_TIMEOUT_MS (a server-side copy). */
  readonly timeoutMs?: number
}

/** A GET answered with success: its body still to be read, as a stream. */
export interface S3HttpStream {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Readable
  readonly error: undefined
}

export interface S3Http {
  /**
   * Sends one request, retried on 5xx, throttling and connection errors within one S3_TIMEOUT_MS deadline. Returns the
   * answer when it is a success or a 4xx (S3ResponseError in `error`, for the caller to interpret), throws
   * STORAGE_TIMEOUT or STORAGE_UNAVAILABLE otherwise, and returns undefined when the endpoint needs the SDK to sign.
   */
  send (request: S3HttpRequest): Promise<(S3HttpResponse & { readonly error: S3ResponseError | undefined }) | undefined>
  /**
   * A GET whose body is handed over as a stream (a scan's read of a whole object): retried as `send` is until S3 starts
   * answering, within one S3_TIMEOUT_MS; the body then flows with S3_TIMEOUT_MS as the longest silence between chunks,
   * and up to STREAM_HIGH_WATER_MARK read ahead of its reader. An error answer is read whole, as `send` gives it.
   */
  stream (key: string): Promise<S3HttpStream | (S3HttpResponse & { readonly error: S3ResponseError }) | undefined>
  destroy (): void
}

/** As the SDK's standard retry strategy: three attempts in all. */
const MAX_ATTEMPTS = 3
/** The SDK's backoff base: a random delay up to base × 2^attempt (full jitter); throttling starts from a longer base. */
const BASE_DELAY_MS = 100
const THROTTLING_BASE_DELAY_MS = 500
const MAX_DELAY_MS = 20_000
/** The throttling and transient codes the SDK retries (@smithy/service-error-classification). */
const THROTTLING_CODES = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottledException', 'TooManyRequestsException',
  'ProvisionedThroughputExceededException', 'TransactionInProgressException', 'RequestLimitExceeded', 'BandwidthLimitExceeded', 'LimitExceededException',
  'RequestThrottled', 'SlowDown', 'PriorRequestNotComplete', 'EC2ThrottledException'])
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'])
/** Connection failures worth another attempt: the SDK's transient network codes and undici's names for a dropped socket. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
/** The SDK's names for a HEAD error, which has no body to name it. */
const STATUS_NAMES: Readonly<Record<number, string>> = { 304: 'NotModified', 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed', 416: 'InvalidRange' }

const codeOf = (error: unknown): string => {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : ''
}

/** `<Code>` and `<Message>` of an S3 XML error body; the body's text is trusted for nothing else. */
export function parseErrorBody (status: number, body: string): S3ResponseError {
  const tag = (name: string) => new RegExp(`<${name}>([^<]{0,1024})</${name}>`).exec(body)?.[1]
  const code = tag('Code') ?? STATUS_NAMES[status] ?? (status >= 500 ? 'ServerError' : 'UnknownError')
  return new S3ResponseError(code, status, tag('Message') ?? `S3 answered ${status} ${code}`)
}

function isRetryableAnswer (error: S3ResponseError): boolean {
  return error.statusCode >= 500 || error.statusCode === 429 || THROTTLING_CODES.has(error.code) || TRANSIENT_CODES.has(error.code)
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => { signal.removeEventListener('abort', abort); resolve() }, ms)
  const abort = () => { clearTimeout(timer); reject(signal.reason) }
  signal.addEventListener('abort', abort, { once: true })
})

const text = (value: string | string[] | undefined): string => Array.isArray(value) ? value.join(',') : value ?? ''

/**
 * How much of a streamed body is read ahead of its reader (undici's default is 64 KiB): with more, the socket to S3
 * is paused and resumed far less often while a scan relays an object to clamd (docs/scanning.md, Performance).
 */
const STREAM_HIGH_WATER_MARK = 1024 * 1024

const headersOf = (raw: Record<string, string | string[] | undefined>): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw)) headers[name] = text(value)
  return headers
}

export function createS3Http ({ client, bucket, timeoutMs }: { client: S3Client, bucket: string, timeoutMs: number }): S3Http {
  const signer = createRequestSigner(client, bucket)
  // One pool per origin; idle sockets are kept below the 5 s most stores (and AWS's 20 s) close them after.
  const agent = new Agent({ connections: 64, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000, connect: { timeout: timeoutMs } })

  async function attempt ({ method, key, headers = {}, body, maxBytes }: S3HttpRequest, signal: AbortSignal) {
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8')
    const signed = await signer.sign({ method, key, headers, payloadHash: payload === undefined ? EMPTY_SHA256 : sha256Hex(body ?? '') })
    if (signed === undefined) return undefined
    const url = new URL(signed.url)
    // undici closes the connection after every HEAD unless told not to (a guard against servers that send a HEAD a body,
    // which S3 stores do not): without reset false, each HEAD cost a new connection (a TLS handshake on AWS).
    const res = await agent.request({ origin: url.origin, path: signed.path, method, headers: signed.headers, body: payload, signal, reset: method === 'HEAD' ? false : undefined })
    const chunks: Buffer[] = []
    let length = 0
    if (method !== 'HEAD') {
      for await (const chunk of res.body) {
        const buffer = chunk as Buffer
        chunks.push(buffer)
        length += buffer.length
        if (maxBytes !== undefined && res.statusCode < 300 && length >= maxBytes) break
      }
    }
    // Breaking out of the loop destroys the body, which closes that connection: only a store ignoring Range gets there.
    if (method === 'HEAD') res.body.resume()
    const responseHeaders = headersOf(res.headers)
    const all = chunks.length === 1 ? chunks[0] ?? Buffer.alloc(0) : Buffer.concat(chunks)
    const error = res.statusCode >= 300 ? parseErrorBody(res.statusCode, all.toString('utf8')) : undefined
    return { status: res.statusCode, headers: responseHeaders, body: all, error }
  }

  async function attemptStream (key: string, signal: AbortSignal) {
    const signed = await signer.sign({ method: 'GET', key, headers: {}, payloadHash: EMPTY_SHA256 })
    if (signed === undefined) return undefined
    const url = new URL(signed.url)
    const res = await agent.request({
      origin: url.origin, path: signed.path, method: 'GET', headers: signed.headers, signal, highWaterMark: STREAM_HIGH_WATER_MARK, bodyTimeout: timeoutMs,
    })
    const headers = headersOf(res.headers)
    if (res.statusCode < 300) {
      // undici's body emits an error when it is destroyed before its end (a scan that stops early: clamd away, its size
      // limit): a reader iterating it still gets the error, but one that only destroys it must not crash the process.
      res.body.on('error', () => undefined)
      return { status: res.statusCode, headers, body: res.body, error: undefined }
    }
    const body = Buffer.from(await res.body.arrayBuffer())
    return { status: res.statusCode, headers, body, error: parseErrorBody(res.statusCode, body.toString('utf8')) }
  }

  /** Makes attempts until one answers a success or a final error, on the SDK's schedule, while `signal` (the call's deadline) holds. */
  async function retrying<T extends { readonly status: number, readonly error: S3ResponseError | undefined }> (signal: AbortSignal, once: () => Promise<T | undefined>): Promise<T | undefined> {
    for (let n = 1; ; n++) {
      let failure: unknown
      let throttled = false
      try {
        const answer = await once()
        if (answer?.error === undefined || !isRetryableAnswer(answer.error)) return answer
        failure = answer.error
        throttled = THROTTLING_CODES.has(answer.error.code) || answer.status === 429
      } catch (error) {
        if (signal.aborted) throw Object.assign(new StorageTimeoutError(), { cause: error })
        if (error instanceof StorageUnavailableError) throw error
        const code = codeOf(error)
        if (!RETRYABLE_NETWORK_CODES.has(code)) {
          // Another network failure is a store filegate cannot reach; anything else is a bug, and stays one.
          if (code.startsWith('E') || code.startsWith('UND_ERR')) throw Object.assign(new StorageUnavailableError(), { cause: error })
          throw error
        }
        failure = error
      }
      if (n >= MAX_ATTEMPTS) throw Object.assign(new StorageUnavailableError(), { cause: failure })
      const delay = Math.floor(Math.random() * Math.min(MAX_DELAY_MS, (throttled ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS) * 2 ** n))
      try {
        await sleep(delay, signal)
      } catch (error) {
        throw Object.assign(new StorageTimeoutError(), { cause: error })
      }
    }
  }

  return {
    async send (request) {
      // One deadline for the whole call, retries and backoff included, as the SDK store's abortSignal.
      const signal = AbortSignal.timeout(request.timeoutMs ?? timeoutMs)
      return await retrying(signal, async () => await attempt(request, signal))
    },
    async stream (key) {
      // The deadline holds until S3 starts answering; it is then lifted, or it would cut the body short.
      const deadline = new AbortController()
      const timer = setTimeout(() => deadline.abort(new Error('S3 did not start answering in time')), timeoutMs)
      try {
        return await retrying(deadline.signal, async () => await attemptStream(key, deadline.signal))
      } finally {
        clearTimeout(timer)
      }
    },
    destroy () {
      agent.destroy().catch(() => undefined)
    },
  }
}
