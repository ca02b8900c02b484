// MD5 of a Blob with spark-md5 (WebCrypto has no MD5), read in slices so that memory stays small: used by the worker and, without one, the page.
import SparkMD5 from 'spark-md5'

const SLICE_BYTES = 4 * 1024 * 1024

export interface Md5 {
  /** As Content-MD5 carries it. */
  readonly base64: string
  /** As S3 shows it in a part's ETag. */
  readonly hex: string
}

/** `pause` runs between slices: the page yields there so that hashing never blocks it for long. */
export async function digestBlob (blob: Blob, pause: () => Promise<void> = async () => undefined): Promise<Md5> {
  const hash = new SparkMD5.ArrayBuffer()
  for (let offset = 0; offset < blob.size; offset += SLICE_BYTES) {
    hash.append(await blob.slice(offset, offset + SLICE_BYTES).arrayBuffer())
    await pause()
  }
  const raw = hash.end(true)
  let hex = ''
  for (let i = 0; i < raw.length; i++) hex += raw.charCodeAt(i).toString(16).padStart(2, '0')
  return { base64: btoa(raw), hex }
}
