// The longest owner filegate can store: every S3 key it derives from an owner must stay within S3's 1,024-byte key limit.
import type { Config } from '../config.js'
import { sessionIndexKeyFor } from '../multipart/session-store.js'
import { ownerIndexKeyFor } from '../storage/record-store.js'
import { encodeHeaderValue } from './header-safe.js'
import { ownerLayout } from './key-layout.js'
import { OWNER_META, METADATA_BUDGET_BYTES } from './new-upload.js'

/** S3's limit on a key, in UTF-8 bytes. */
export const S3_MAX_KEY_BYTES = 1024
/** A file id has a fixed length; any one will do for measuring keys. */
const SAMPLE_ID = '01900000-0000-7000-8000-000000000000'
/** The longest extension a key can end in (`.` and 16 characters, see content-types.ts). */
const LONGEST_EXT = `.${'x'.repeat(16)}`
/** The owner's share of an object's 2 KB of user metadata: half, so a file name and the caller's metadata still fit. */
const OWNER_METADATA_BYTES = METADATA_BUDGET_BYTES / 2

/** Checks an owner; returns why filegate cannot store files for it, or undefined when it can. */
export type OwnerCheck = (owner: string) => string | undefined

/**
 * Measures the keys that carry the owner (its file index, its multipart index and, with the owner layout, its upload
 * keys) with the real key functions, once: the owner appears in each as base64url, ceil(4n/3) characters for n bytes.
 */
export function createOwnerCheck (uploads: Pick<Config['uploads'], 'prefix' | 'layout'>): OwnerCheck {
  const fixedParts = [ownerIndexKeyFor('', SAMPLE_ID), sessionIndexKeyFor('', SAMPLE_ID)]
  if (uploads.layout === 'owner') fixedParts.push(uploads.prefix + ownerLayout.keyFor({ id: SAMPLE_ID, ext: LONGEST_EXT, owner: '' }))
  const longestFixed = Math.max(...fixedParts.map((key) => Buffer.byteLength(key, 'utf8')))
  const maxOwnerBytes = Math.floor((S3_MAX_KEY_BYTES - longestFixed) * 3 / 4)

  return function ownerProblem (owner) {
    const bytes = Buffer.byteLength(owner, 'utf8')
    if (bytes > maxOwnerBytes) {
      return `The owner claim is ${bytes} bytes long (UTF-8); filegate accepts owners of at most ${maxOwnerBytes} bytes, so that every S3 key it derives from the owner stays within S3's ${S3_MAX_KEY_BYTES}-byte limit`
    }
    const metadataBytes = OWNER_META.length + encodeHeaderValue(owner).length
    if (metadataBytes > OWNER_METADATA_BYTES) {
      return `The owner claim takes ${metadataBytes} bytes of S3 object metadata once encoded (non-ASCII characters take up to 9); filegate allows at most ${OWNER_METADATA_BYTES}`
    }
    return undefined
  }
}
