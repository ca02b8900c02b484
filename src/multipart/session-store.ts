// The session store: the only code that knows multipart sessions are JSON objects in the bucket, with an owner index beside them.
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { INTERNAL_PREFIX, newestFirstName } from '../storage/record-store.js'
import type { ObjectStore } from '../storage/s3.js'
import { FILE_ID_PATTERN, fileIdTime, isFileId } from '../uploads/file-id.js'
import { encodeOwner } from '../uploads/owner-encoding.js'

const SESSIONS_PREFIX = `${INTERNAL_PREFIX}multipart/`
const OWNERS_PREFIX = `${INTERNAL_PREFIX}multipart-owners/`

/** What complete, the part signer and cleanup need to know of an unfinished upload; S3's upload id never leaves filegate but in part URLs. */
export const MultipartSessionSchema = Type.Object({
  id: Type.String({ pattern: FILE_ID_PATTERN }),
  key: Type.String({ minLength: 1 }),
  upload_id: Type.String({ minLength: 1 }),
  owner: Type.String({ minLength: 1 }),
  filename: Type.String({ minLength: 1 }),
  content_type: Type.String(),
  size: Type.Integer({ minimum: 1 }),
  part_size: Type.Integer({ minimum: 1 }),
  part_count: Type.Integer({ minimum: 1 }),
  created_at: Type.String({ format: 'date-time' }),
})
export type MultipartSession = Static<typeof MultipartSessionSchema>

const checkSession = Compile(MultipartSessionSchema)

export function sessionKeyFor (id: string): string {
  return `${SESSIONS_PREFIX}${id}.json`
}

export function sessionIndexKeyFor (owner: string, id: string): string {
  return `${OWNERS_PREFIX}${encodeOwner(owner)}/${newestFirstName(id)}`
}

export class CorruptSessionError extends Error {
  override name = 'CorruptSessionError'
}

export interface SessionPage { readonly sessions: readonly MultipartSession[], readonly nextToken: string | undefined }
export interface SessionIdPage { readonly ids: readonly string[], readonly nextToken: string | undefined }

export interface SessionStore {
  /** Writes the session and its owner index entry together. */
  put (session: MultipartSession): Promise<void>
  get (id: string): Promise<MultipartSession | undefined>
  /** Whether a session exists, by a HEAD (cleanup's orphan sweep asks before it deletes an unrecorded object). */
  exists (id: string): Promise<boolean>
  /** Removes the session and its owner index entry; idempotent. */
  remove (session: Pick<MultipartSession, 'id' | 'owner'>): Promise<void>
  /** The owner's sessions, newest first; index entries whose session is gone are skipped. */
  listOwner (owner: string, page: { limit: number, token: string | undefined }): Promise<SessionPage>
  /** Ids of sessions created before `before` (ms since the epoch), oldest first. */
  listCreatedBefore (before: number, page: { limit: number, token: string | undefined }): Promise<SessionIdPage>
}

export function createSessionStore (objects: ObjectStore): SessionStore {
  async function get (id: string): Promise<MultipartSession | undefined> {
    const text = await objects.getText(sessionKeyFor(id))
    if (text === undefined) return undefined
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new CorruptSessionError(`multipart session ${id} is not JSON`)
    }
    if (!checkSession.Check(parsed) || parsed.id !== id) throw new CorruptSessionError(`multipart session ${id} does not match the session schema`)
    return parsed
  }

  return {
    async put (session) {
      await Promise.all([
        objects.put(sessionKeyFor(session.id), JSON.stringify(session), { contentType: 'application/json' }),
        objects.put(sessionIndexKeyFor(session.owner, session.id), '', { contentType: 'application/octet-stream' }),
      ])
    },
    get,
    async exists (id) {
      return await objects.head(sessionKeyFor(id)) !== undefined
    },
    async remove ({ id, owner }) {
      await Promise.all([objects.delete(sessionKeyFor(id)), objects.delete(sessionIndexKeyFor(owner, id))])
    },
    async listOwner (owner, { limit, token }) {
      const page = await objects.list(`${OWNERS_PREFIX}${encodeOwner(owner)}/`, { maxKeys: limit, continuationToken: token })
      const ids = page.objects.map((o) => o.key.slice(-36)).filter(isFileId)
      const found = await Promise.all(ids.map(get))
      return { sessions: found.filter((s): s is MultipartSession => s !== undefined && s.owner === owner), nextToken: page.nextToken }
    },
    async listCreatedBefore (before, { limit, token }) {
      const page = await objects.list(SESSIONS_PREFIX, { maxKeys: limit, continuationToken: token })
      const ids: string[] = []
      for (const { key } of page.objects) {
        // Sessions are named by their UUID v7, so the listing is oldest first: the first one too young ends it.
        const id = key.slice(SESSIONS_PREFIX.length, -'.json'.length)
        if (!isFileId(id)) continue
        if (!(fileIdTime(id) < before)) return { ids, nextToken: undefined }
        ids.push(id)
      }
      return { ids, nextToken: page.nextToken }
    },
  }
}
