// The clamd client: INSTREAM over node:net, failing closed (anything but an OK or FOUND answer is no verdict of clean).
import { connect, type Socket } from 'node:net'

export interface ClamdAddress { readonly host: string, readonly port: number }

/**
 * What clamd said about a stream: a final answer. `error` is a stream over clamd's StreamMaxLength (clamd's own
 * "size limit exceeded", or a stream known to be longer than the limit filegate was told): scanning it again cannot help.
 * Anything else that is not OK or FOUND is no verdict: `scanStream` throws a ClamdNoVerdictError.
 */
export type ClamdVerdict =
  | { readonly status: 'clean' }
  | { readonly status: 'infected', readonly signature: string }
  | { readonly status: 'error', readonly message: string }

/** clamd gave no verdict this time: the scan must be tried again later (fail closed: the file stays unserved meanwhile). */
export class ClamdNoVerdictError extends Error {
  override name = 'ClamdNoVerdictError'
}

/** clamd could not be reached (refused, reset), or did not answer in time. */
export class ClamdUnavailableError extends ClamdNoVerdictError {
  override name = 'ClamdUnavailableError'
}

/** clamd answered something other than OK, FOUND or its size limit (an error of its own, an answer filegate does not know). */
export class ClamdErrorAnswer extends ClamdNoVerdictError {
  override name = 'ClamdErrorAnswer'
}

/** The largest chunk sent in one INSTREAM frame (clamd takes any size up to its StreamMaxLength). */
const MAX_FRAME = 1024 * 1024
/**
 * How many bytes may wait in the socket's buffer before the next chunk is read from the source. Waiting for 'drain'
 * after every chunk (the socket's own 16 KiB mark) kept the S3 read and the clamd write in lock-step; this much ahead
 * lets both run, at a bounded cost in memory per scan (docs/scanning.md, Performance).
 */
const WRITE_AHEAD_BYTES = 2 * 1024 * 1024
const END_OF_STREAM = Buffer.alloc(4)

/** Reads clamd's answer to a `z` command (NUL-terminated), however the socket ends. */
function answerOf (socket: Socket, timeoutMs: number): { readonly answer: Promise<string>, readonly failed: Promise<never> } {
  let fail!: (error: Error) => void
  const failed = new Promise<never>((_resolve, reject) => { fail = reject })
  failed.catch(() => undefined)
  const answer = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const finish = (): void => {
      const text = Buffer.concat(chunks).toString('utf8')
      const end = text.indexOf('\0')
      if (end !== -1 || text !== '') resolve(end === -1 ? text : text.slice(0, end))
      else reject(new ClamdUnavailableError('clamd closed the connection without answering'))
    }
    socket.setTimeout(timeoutMs, () => {
      const error = new ClamdUnavailableError(`clamd did not answer within ${timeoutMs} ms`)
      socket.destroy(error)
    })
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (chunk.includes(0)) socket.end()
    })
    socket.on('error', (error) => {
      // clamd answers "size limit exceeded" and closes while we still write: the answer wins over the broken pipe.
      if (chunks.length > 0) return finish()
      const wrapped = error instanceof ClamdUnavailableError ? error : new ClamdUnavailableError(`clamd: ${error.message}`)
      fail(wrapped)
      reject(wrapped)
    })
    socket.on('close', finish)
  })
  answer.catch(() => undefined)
  return { answer, failed }
}

function open ({ host, port }: ClamdAddress): Socket {
  const socket = connect({ host, port })
  socket.setNoDelay(true)
  return socket
}

/** Whether clamd answers PING with PONG within `timeoutMs`. */
export async function pingClamd (address: ClamdAddress, timeoutMs: number): Promise<boolean> {
  const socket = open(address)
  const { answer } = answerOf(socket, timeoutMs)
  socket.write('zPING\0')
  try {
    return (await answer) === 'PONG'
  } catch {
    return false
  } finally {
    socket.destroy()
  }
}

/** clamd's answer when a stream passes its StreamMaxLength (clamd 0.95 to 1.4): `INSTREAM size limit exceeded. ERROR`. */
const SIZE_LIMIT_ANSWER = /^INSTREAM size limit exceeded\. ERROR$/

/**
 * clamd's answer to INSTREAM, checked: `stream: OK` is clean, `stream: <name> FOUND` infected, the size-limit answer a
 * final `error`; anything else throws ClamdErrorAnswer (no verdict, to be tried again).
 */
export function parseInstreamAnswer (answer: string): ClamdVerdict {
  const text = answer.trim()
  if (text === 'stream: OK') return { status: 'clean' }
  const found = /^stream: (\S(?:.*\S)?) FOUND$/.exec(text)
  if (found?.[1] !== undefined) return { status: 'infected', signature: found[1] }
  if (SIZE_LIMIT_ANSWER.test(text)) return { status: 'error', message: `the file is over clamd's stream limit (StreamMaxLength), so it was not scanned; clamd answered: ${text}` }
  throw new ClamdErrorAnswer(text === '' ? 'clamd gave an empty answer' : `clamd answered: ${text.slice(0, 200)}`)
}

export interface ScanLimits {
  /** The longest silence from clamd before the scan is given up as unavailable. */
  readonly timeoutMs: number
  /** clamd's StreamMaxLength: a longer stream is an `error`, not sent. */
  readonly maxBytes: number
  /** Aborted: the scan is given up at once (ClamdUnavailableError with the signal's reason). */
  readonly signal?: AbortSignal | undefined
}

/**
 * Streams `source` to clamd with INSTREAM and returns its verdict. Reading runs ahead of the socket (the next chunk is
 * read while earlier ones are being written, up to WRITE_AHEAD_BYTES waiting). Throws ClamdUnavailableError when clamd cannot be
 * reached (refused), breaks the connection without an answer (as it may for a stream over a StreamMaxLength set lower
 * than `maxBytes`) or stays silent for `timeoutMs`, and ClamdErrorAnswer for an answer that is no verdict.
 */
export async function scanStream (address: ClamdAddress, source: AsyncIterable<Uint8Array>, limits: ScanLimits): Promise<ClamdVerdict> {
  const { timeoutMs, maxBytes, signal } = limits
  const socket = open(address)
  let sent = 0
  const { answer, failed } = answerOf(socket, timeoutMs)
  const abort = (): void => {
    const reason: unknown = signal?.reason
    socket.destroy(new ClamdUnavailableError(reason instanceof Error ? reason.message : 'the scan was given up'))
  }
  if (signal?.aborted === true) abort()
  signal?.addEventListener('abort', abort, { once: true })
  try {
    await Promise.race([new Promise<void>((resolve) => socket.once('connect', resolve)), failed])
    socket.write('zINSTREAM\0')
    for await (const chunk of source) {
      sent += chunk.length
      // clamd refuses a stream over its StreamMaxLength by closing the connection, and the broken pipe can arrive before
      // its answer does: a stream known to be too long is refused here, before clamd sees it.
      if (sent > maxBytes) return { status: 'error', message: `the file is over clamd's stream limit of ${maxBytes} bytes (StreamMaxLength), so it was not scanned` }
      for (let offset = 0; offset < chunk.length && !socket.destroyed && socket.writable; offset += MAX_FRAME) {
        const part = chunk.subarray(offset, offset + MAX_FRAME)
        const length = Buffer.allocUnsafe(4)
        length.writeUInt32BE(part.length)
        socket.cork()
        socket.write(length)
        socket.write(part)
        socket.uncork()
        // Past the socket's own mark a write has asked for 'drain', so it comes once the buffer is written out.
        if (socket.writableLength > WRITE_AHEAD_BYTES) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), answer, failed])
      }
      // clamd has answered already (its size limit): the rest of the stream is not needed.
      if (socket.destroyed || !socket.writable) break
    }
    if (socket.writable) socket.write(END_OF_STREAM)
    return parseInstreamAnswer(await answer)
  } finally {
    signal?.removeEventListener('abort', abort)
    socket.destroy()
  }
}
