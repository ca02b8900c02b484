// filegate's JSON API from the browser: the token on every call, and filegate's error shape turned into an UploadError.
import { UploadError } from './errors.js'

/** A token, or a function that returns the current one (called before each request, so it may refresh it). */
export type TokenSource = string | (() => string | Promise<string>)

export interface ApiOptions {
  /** Where filegate answers, e.g. `https://files.example.com`; '' for this page's own origin. */
  readonly api: string
  readonly token: TokenSource
}

export interface FilegateApi {
  readonly base: string
  /** The `Authorization` header for a request made now. */
  authorization (): Promise<string>
  /**
   * Calls filegate; the JSON answer as `read` checks it (204 gives `read(undefined)`). Throws an UploadError: 'api' with
   * filegate's code, or 'network'.
   */
  call<T> (method: 'GET' | 'POST' | 'DELETE', path: string, read: (answer: unknown) => T, body?: unknown, signal?: AbortSignal): Promise<T>
}

export function createApi ({ api, token }: ApiOptions): FilegateApi {
  const base = api.replace(/\/+$/, '')
  const authorization = async () => `Bearer ${typeof token === 'string' ? token : await token()}`
  return {
    base,
    authorization,
    async call<T> (method: 'GET' | 'POST' | 'DELETE', path: string, read: (answer: unknown) => T, body?: unknown, signal?: AbortSignal): Promise<T> {
      let response: Response
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: await authorization(), ...(body !== undefined && { 'content-type': 'application/json' }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
          ...(signal !== undefined && { signal }),
        })
      } catch (error) {
        if (signal?.aborted === true) throw new UploadError('The upload was aborted', 'aborted', { code: 'ABORTED' })
        throw new UploadError(`filegate could not be reached (${error instanceof Error ? error.message : String(error)})`, 'network')
      }
      const answer: unknown = response.status === 204 ? undefined : await response.json().catch(() => undefined)
      if (!response.ok) {
        const shape = typeof answer === 'object' && answer !== null ? answer as Record<string, unknown> : {}
        const code = typeof shape.code === 'string' ? shape.code : ''
        const message = typeof shape.message === 'string' ? shape.message : `filegate answered ${response.status}`
        throw new UploadError(message, 'api', { status: response.status, code })
      }
      return read(answer)
    },
  }
}

/** Failures worth another try: no answer, filegate's storage briefly away, rate limits, or a complete in progress elsewhere. */
export function isRetryableApiError (error: unknown): boolean {
  if (!(error instanceof UploadError)) return false
  if (error.kind === 'network') return true
  return error.kind === 'api' && (error.status >= 500 || error.status === 429 || error.code === 'UPLOAD_BUSY')
}
