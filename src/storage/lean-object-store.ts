// The hot object calls (record reads, HEAD, ranged GET, streamed GET, small conditional PUTs, DELETE) over the lean client, as the SDK store answers them.
import { isConditionalConflict, isInvalidRange, isNotFound, isPreconditionFailed, toStorageError } from './s3-errors.js'
import { parseErrorBody, type S3Http } from './s3-http.js'
import type { ObjectHead, ObjectStore } from './s3.js'

type LeanCalls = Pick<ObjectStore, 'head' | 'getText' | 'getTextAndEtag' | 'getRange' | 'getStream' | 'replace' | 'put' | 'copy' | 'delete'>

/** The deadline of one server-side copy, as the SDK store's (S3 copies 5 GiB in well under a minute). */
const COPY_TIMEOUT_MS = 300_000

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '')
const META_PREFIX = 'x-amz-meta-'

/** What the SDK's HeadObject gives filegate, read from the answer's headers (names arrive lowercase). */
function headOf (headers: Readonly<Record<string, string>>): ObjectHead {
  const metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(META_PREFIX)) metadata[name.slice(META_PREFIX.length)] = value
  }
  const size = Number(headers['content-length'] ?? 0)
  const modified = new Date(headers['last-modified'] ?? 0)
  return {
    size: Number.isSafeInteger(size) && size >= 0 ? size : 0,
    contentType: headers['content-type'] ?? '',
    etag: unquote(headers.etag),
    lastModified: Number.isNaN(modified.getTime()) ? new Date(0) : modified,
    metadata,
  }
}

/**
 * The same results and the same filegate errors as the SDK store (test/storage/lean-client.test.ts compares them call
 * by call); where the endpoint needs the SDK to sign (S3 Express, SigV4a, endpoints with headers), the SDK store answers.
 */
export function leanObjectCalls (http: S3Http, sdk: ObjectStore, { bucket, timeoutMs }: { bucket: string, timeoutMs: number }): LeanCalls {
  const fail = (error: unknown): never => { throw toStorageError(error) }

  return {
    async head (key) {
      const res = await http.send({ method: 'HEAD', key })
      if (res === undefined) return await sdk.head(key)
      if (res.error === undefined) return headOf(res.headers)
      if (isNotFound(res.error)) return undefined
      return fail(res.error)
    },
    async getText (key) {
      const res = await http.send({ method: 'GET', key })
      if (res === undefined) return await sdk.getText(key)
      if (res.error === undefined) return res.body.toString('utf8')
      if (isNotFound(res.error)) return undefined
      return fail(res.error)
    },
    async getTextAndEtag (key) {
      const res = await http.send({ method: 'GET', key })
      if (res === undefined) return await sdk.getTextAndEtag(key)
      if (res.error === undefined) return { text: res.body.toString('utf8'), etag: unquote(res.headers.etag) }
      if (isNotFound(res.error)) return undefined
      return fail(res.error)
    },
    async getRange (key, bytes) {
      const res = await http.send({ method: 'GET', key, headers: { range: `bytes=0-${bytes - 1}` }, maxBytes: bytes })
      if (res === undefined) return await sdk.getRange(key, bytes)
      if (res.error === undefined) return { bytes: new Uint8Array(res.body.subarray(0, bytes)), etag: unquote(res.headers.etag) }
      if (isNotFound(res.error)) return undefined
      if (isInvalidRange(res.error)) return { bytes: new Uint8Array(), etag: '' }
      return fail(res.error)
    },
    async getStream (key) {
      const res = await http.stream(key)
      if (res === undefined) return await sdk.getStream(key)
      if (res.error === undefined) {
        const size = Number(res.headers['content-length'] ?? 0)
        return { body: res.body, size: Number.isSafeInteger(size) && size >= 0 ? size : 0 }
      }
      if (isNotFound(res.error)) return undefined
      return fail(res.error)
    },
    async replace (key, body, { contentType, ifMatch }) {
      const res = await http.send({ method: 'PUT', key, body, headers: { 'content-type': contentType, 'if-match': ifMatch } })
      if (res === undefined) return await sdk.replace(key, body, { contentType, ifMatch })
      if (res.error === undefined) return 'replaced'
      // AWS answers 404 when the object is gone, 412 when it changed, 409 when another conditional write is in flight.
      if (isPreconditionFailed(res.error) || isNotFound(res.error) || isConditionalConflict(res.error)) return 'changed'
      return fail(res.error)
    },
    async put (key, body, { contentType, createOnly = false }) {
      // AWS answers 409 ConditionalRequestConflict to a create-only PUT racing another one in flight, and asks for a retry.
      for (let attempt = 1; ; attempt++) {
        const res = await http.send({ method: 'PUT', key, body, headers: { 'content-type': contentType, ...(createOnly && { 'if-none-match': '*' }) } })
        if (res === undefined) return await sdk.put(key, body, { contentType, createOnly })
        if (res.error === undefined) return 'created'
        if (createOnly && isPreconditionFailed(res.error)) return 'exists'
        if (createOnly && isConditionalConflict(res.error) && attempt < 3) continue
        return fail(res.error)
      }
    },
    async copy (source, target) {
      const copySource = `${bucket}/${source.split('/').map(encodeURIComponent).join('/')}`
      const res = await http.send({
        method: 'PUT', key: target, headers: { 'x-amz-copy-source': copySource, 'x-amz-metadata-directive': 'COPY' }, timeoutMs: Math.max(timeoutMs, COPY_TIMEOUT_MS),
      })
      if (res === undefined) return await sdk.copy(source, target)
      const body = res.body.toString('utf8')
      // A copy may fail after S3 answered 200: the error is then the body (the SDK turns it into a 5xx exception).
      const error = res.error ?? (/<Error>/.test(body) ? parseErrorBody(500, body) : undefined)
      if (error === undefined) return { etag: unquote(/<ETag>([^<]*)<\/ETag>/.exec(body)?.[1]?.replace(/&quot;/g, '"')) }
      if (isNotFound(error)) return undefined
      return fail(error)
    },
    async delete (key) {
      const res = await http.send({ method: 'DELETE', key })
      if (res === undefined) return await sdk.delete(key)
      if (res.error === undefined || isNotFound(res.error)) return
      fail(res.error)
    },
  }
}
