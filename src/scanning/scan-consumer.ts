// The scan consumer: streams each newly confirmed file from S3 to clamd and records the verdict (file.scanned).
import type { Config } from '../config.js'
import type { Consumer } from '../events/consumer.js'
import type { EventOutbox } from '../events/outbox.js'
import type { FileRecord } from '../schemas/file-record.js'
import { servedKeyOf, type RecordStore } from '../storage/record-store.js'
import type { ObjectStore } from '../storage/s3.js'
import { scanStream, type ClamdVerdict } from './clamd-client.js'

export interface ScanConsumerDeps {
  readonly config: Config
  readonly objects: ObjectStore
  readonly records: RecordStore
  readonly events: EventOutbox
  /** Told each verdict recorded (metrics). */
  readonly onVerdict?: ((status: ClamdVerdict['status']) => void) | undefined
  readonly now?: () => number
}

/** The objects an infected file leaves: the served copy and the upload (variants are never made before a clean scan). */
function objectsOf (record: FileRecord): string[] {
  return [...new Set([servedKeyOf(record), record.key])]
}

/**
 * Files up to this size are scanned within BOUNDED_SCAN_MS or the attempt is given up (and tried again on the retry
 * schedule): a bounded attempt lets the process that confirmed the file scan it without a claim on its event, which
 * saves three of the scan's S3 writes (the claim, its removal, and the event's own removal, batched instead). Larger
 * files are scanned without a bound, under a claim renewed while they take.
 */
export const BOUNDED_SCAN_MAX_BYTES = 16 * 1024 * 1024
/** Far beyond what clamd takes for 16 MiB (well under a second here), and well inside the least EVENTS_GRACE that leaves room for it. */
export const BOUNDED_SCAN_MS = 10_000

/**
 * Scans on file.created. Fails closed: clamd or S3 out of reach, or an answer from clamd that is no verdict, is a throw
 * (the runner tries again on SCAN_RETRY_SCHEDULE, and the file stays pending, never served); only clamd's OK makes a file
 * clean. The last attempt's failure is recorded as `error` with the reason, so the file does not stay pending for ever;
 * clamd's size-limit answer is `error` at once (another attempt cannot help).
 */
export function scanConsumer ({ config, objects, records, events, onVerdict, now = Date.now }: ScanConsumerDeps): Consumer {
  const { clamd, timeoutMs, maxBytes, retryDelaysMs } = config.scanning

  async function record (id: string, verdict: ClamdVerdict): Promise<FileRecord | undefined> {
    const scan = {
      status: verdict.status,
      ...(verdict.status === 'infected' && { signature: verdict.signature }),
      ...(verdict.status === 'error' && { message: verdict.message }),
      scanned_at: new Date(now()).toISOString(),
    }
    const companion = events.companion('file.scanned')
    const updated = await records.update(id, (current) => current.scan?.status === 'pending' ? { ...current, scan } : undefined, companion)
    events.made(companion)
    return updated
  }

  return {
    name: 'clamav-scan',
    types: ['file.created'],
    retryDelaysMs,
    attemptTimeoutMs: (event) => event.data.file.size <= BOUNDED_SCAN_MAX_BYTES ? BOUNDED_SCAN_MS : undefined,
    async handle (event, { attempt, maxAttempts, signal }) {
      // The record as confirmed, from the event: no read of it first. The verdict is written only while the stored record
      // is still pending, so a file deleted or scanned meanwhile is found out when the verdict is recorded.
      const file = event.data.file
      if (file.scan?.status !== 'pending') return
      let verdict: ClamdVerdict | undefined
      const bound = file.size <= BOUNDED_SCAN_MAX_BYTES ? deadline() : undefined
      try {
        verdict = file.size > maxBytes
          ? { status: 'error', message: `the file is ${file.size} bytes, over clamd's stream limit of ${maxBytes} bytes (StreamMaxLength), so it was not scanned` }
          : await scanObject(servedKeyOf(file), bound === undefined ? signal : AbortSignal.any([signal, bound.signal]))
      } catch (error) {
        // Tried again later, unless this was the last attempt (a shutdown's attempt is not counted: it is made again).
        if (attempt < maxAttempts || signal.aborted) throw error
        const reason = error instanceof Error ? error.message : String(error)
        verdict = { status: 'error', message: `no verdict after ${attempt} attempts (SCAN_RETRY_SCHEDULE); the last failure: ${reason.slice(0, 300)}` }
      } finally {
        bound?.clear()
      }
      const updated = verdict === undefined ? undefined : await record(file.id, verdict)
      if (updated === undefined) {
        // No verdict recorded by this attempt: the object was gone, or the record was deleted or had its verdict already
        // (an earlier attempt cut short). An infected file's objects must be gone, whichever attempt found it so.
        const current = await records.get(file.id)
        if (current?.scan?.status === 'infected') await removeObjects(current)
        return
      }
      // Counted once: only the attempt that recorded the verdict gets here.
      if (verdict !== undefined) onVerdict?.(verdict.status)
      // The verdict stands before the object goes, so no download is signed for it meanwhile (410 from now on).
      if (updated.scan?.status === 'infected') await removeObjects(updated)
    },
  }

  async function removeObjects (record: FileRecord): Promise<void> {
    await Promise.all(objectsOf(record).map(async (key) => { await objects.delete(key) }))
  }

  /** A signal that aborts once a bounded attempt has taken BOUNDED_SCAN_MS; clear() when the attempt is over. */
  function deadline (): { readonly signal: AbortSignal, clear (): void } {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Error(`the scan did not finish within ${BOUNDED_SCAN_MS / 1000} s, the bound for a file of up to ${BOUNDED_SCAN_MAX_BYTES / 1024 / 1024} MiB`)), BOUNDED_SCAN_MS)
    timer.unref()
    return { signal: controller.signal, clear: () => { clearTimeout(timer) } }
  }

  async function scanObject (key: string, signal: AbortSignal): Promise<ClamdVerdict | undefined> {
    const object = await objects.getStream(key)
    // Gone: the file was deleted while this waited.
    if (object === undefined) return undefined
    const body = object.body as { destroy?: (error?: Error) => void }
    // Given up: the S3 read stops too, so a stalled read cannot hold the attempt past its bound.
    const stop = (): void => {
      const reason: unknown = signal.reason
      body.destroy?.(reason instanceof Error ? reason : new Error('the scan was given up'))
    }
    signal.addEventListener('abort', stop, { once: true })
    try {
      return await scanStream(clamd, object.body, { timeoutMs, maxBytes, signal })
    } finally {
      signal.removeEventListener('abort', stop)
      body.destroy?.()
    }
  }
}
