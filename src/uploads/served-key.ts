// Served keys: where confirm puts the checked copy of a POST upload, which downloads sign and no grant can write.
import { randomBytes } from 'node:crypto'
import { INTERNAL_PREFIX } from '../storage/record-store.js'
import { isFileId } from './file-id.js'
import { datePathFor } from './key-layout.js'

/** Checked copies, by the UTC day of their confirm, so cleanup lists only the days it looks at. */
export const SERVED_PREFIX = `${INTERNAL_PREFIX}served/`

/**
 * `_filegate/served/<yyyy>/<mm>/<dd>/<id>-<16 hex><ext>`: unguessable and unique per confirm, so concurrent confirms
 * never share a copy, and the upload grant (which names its exact key) can never write one.
 */
export function servedKeyFor (id: string, ext: string, now: number): string {
  return `${SERVED_PREFIX}${datePathFor(now)}/${id}-${randomBytes(8).toString('hex')}${ext}`
}

const SERVED_NAME = /^\d{4}\/\d{2}\/\d{2}\/([0-9a-f-]{36})-[0-9a-f]{16}(?:\.[a-z0-9]{1,16})?$/

/** The file id a served key belongs to, or undefined for anything else. */
export function servedKeyId (key: string): string | undefined {
  if (!key.startsWith(SERVED_PREFIX)) return undefined
  const id = SERVED_NAME.exec(key.slice(SERVED_PREFIX.length))?.[1]
  return id !== undefined && isFileId(id) ? id : undefined
}
