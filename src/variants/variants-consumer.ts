// The variants consumer: WebP renditions of a raster image once it may be served (clean, or at once without scanning).
import type { Config } from '../config.js'
import { StorageTimeoutError, StorageUnavailableError } from '../errors.js'
import type { Consumer } from '../events/consumer.js'
import type { EventOutbox } from '../events/outbox.js'
import type { Variant } from '../schemas/file-record.js'
import { servedKeyOf, type RecordStore } from '../storage/record-store.js'
import type { ObjectStore } from '../storage/s3.js'
import { renderVariant } from './render-variant.js'
import { hasVariants, variantKeyFor } from './variant-spec.js'

export interface VariantsConsumerDeps {
  readonly config: Config
  readonly objects: ObjectStore
  readonly records: RecordStore
  readonly events: EventOutbox
  readonly log: { warn (object: object, message: string): void }
  /** Told of each rendition made or failed (metrics). */
  readonly onVariant?: ((outcome: 'made' | 'failed') => void) | undefined
}

/** Images larger than this (in bytes) get no variants: they are read whole into memory. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024
/** Renders at once in this process: each holds a decoded image. */
const MAX_RENDERS = 2

/** A counting gate: at most `limit` callers inside at once. */
function gate (limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let inside = 0
  const waiting: Array<() => void> = []
  return async (work) => {
    if (inside >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    inside++
    try {
      return await work()
    } finally {
      inside--
      waiting.shift()?.()
    }
  }
}

async function readAll (body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of body) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/**
 * Runs on file.scanned (a clean verdict) with scanning on, on file.created without it. A variant that cannot be made (a
 * bomb, a broken image) is logged and left out: it never fails the upload, and is not retried.
 */
export function variantsConsumer ({ config, objects, records, events, log, onVariant }: VariantsConsumerDeps): Consumer {
  const { specs, maxPixels } = config.variants
  const scanning = config.scanning.enabled
  const rendering = gate(MAX_RENDERS)

  return {
    name: 'variants',
    types: [scanning ? 'file.scanned' : 'file.created'],
    async handle (event) {
      const current = await records.get(event.data.file.id)
      if (current === undefined || current.variants !== undefined || !hasVariants(current.content_type)) return
      if (scanning && current.scan?.status !== 'clean') return
      if (current.size > MAX_INPUT_BYTES) {
        log.warn({ file: current.id, size: current.size }, 'no variants: the image is over 64 MiB')
        return
      }
      const object = await objects.getStream(servedKeyOf(current))
      if (object === undefined) return
      const input = await readAll(object.body)
      const made: Variant[] = []
      for (const { name, size } of specs) {
        try {
          const rendered = await rendering(async () => await renderVariant(input, size, maxPixels))
          const key = variantKeyFor(current.id, name)
          await objects.putBytes(key, rendered.bytes, { contentType: 'image/webp' })
          made.push({ name, key, content_type: 'image/webp', width: rendered.width, height: rendered.height, size: rendered.bytes.length })
        } catch (error) {
          // S3 failing is retried; the image itself failing is not.
          if (error instanceof StorageUnavailableError || error instanceof StorageTimeoutError) throw error
          log.warn({ file: current.id, variant: name, err: error }, 'variant not made')
          onVariant?.('failed')
        }
      }
      if (made.length === 0) return
      const companion = events.companion('file.variants_ready')
      const updated = await records.update(current.id, (record) => record.variants === undefined ? { ...record, variants: made } : undefined, companion)
      events.made(companion)
      if (updated !== undefined) for (let i = 0; i < made.length; i++) onVariant?.('made')
      // Deleted meanwhile: its DELETE could not know these objects.
      if (updated === undefined && await records.get(current.id) === undefined) {
        await Promise.all(made.map(async ({ key }) => { await objects.delete(key) }))
      }
    },
  }
}
