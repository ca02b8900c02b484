// The ETag S3 gives an object assembled from parts, to check the completed object against the parts it was made of.
import { createHash } from 'node:crypto'

const PLAIN_MD5 = /^[0-9a-f]{32}$/

/**
 * The ETag S3 gives the assembled object, `md5(the parts' binary MD5s)-N`, when every part's ETag is its plain MD5
 * (AWS without SSE-KMS or SSE-C, Ceph, MinIO); undefined when they are not, and nothing can be checked.
 */
export function multipartEtag (partEtags: readonly string[]): string | undefined {
  if (partEtags.length === 0 || !partEtags.every((etag) => PLAIN_MD5.test(etag))) return undefined
  const hash = createHash('md5')
  for (const etag of partEtags) hash.update(Buffer.from(etag, 'hex'))
  return `${hash.digest('hex')}-${partEtags.length}`
}
