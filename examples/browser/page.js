// @ts-check
// What the demo page's scripts share: its elements, the server's settings, words for sizes and dates, the status line, and calls to filegate's API with failures in words.

/** @typedef {{ status: 'pending' | 'clean' | 'infected' | 'error', signature?: string, message?: string }} Scan */
/** @typedef {{ name: string, width: number, height: number }} Variant */
/** @typedef {{ id: string, key: string, filename: string, content_type: string, size: number, created_at: string, scan?: Scan, variants?: Variant[] }} FileRecord */
/**
 * @typedef {{
 *   token: string | null, max_file_size: number | null, allowed_content_types: string[],
 *   owner_claim: string, scanning: boolean, variants: string[], variant_types: string[]
 * }} Settings
 */

/** A failure a person can act on; its message is shown as it is. */
export class Failure extends Error {}

/** Where filegate answers: the page's own origin unless the page names another. */
export const api = (document.querySelector('meta[name="filegate-api"]')?.getAttribute('content') ?? '').replace(/\/$/, '')

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function element (id, type) {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`)
  return found
}

const tokenField = element('token', HTMLTextAreaElement)
const message = element('message', HTMLParagraphElement)

/** The server's limits and features; a page served elsewhere may not have them, and then keeps these. */
/** @type {Settings} */
export const settings = { token: null, max_file_size: null, allowed_content_types: [], owner_claim: 'sub', scanning: false, variants: [], variant_types: [] }

/** @param {unknown} value */
const strings = (value) => Array.isArray(value) ? value.filter((item) => typeof item === 'string') : []

/** Reads /demo/settings.json into `settings`. */
export async function loadSettings () {
  const response = await fetch(`${api}/demo/settings.json`).catch(() => undefined)
  if (response?.ok !== true) return
  const loaded = /** @type {Partial<Settings>} */ (await response.json())
  Object.assign(settings, {
    token: typeof loaded.token === 'string' ? loaded.token : null,
    max_file_size: typeof loaded.max_file_size === 'number' ? loaded.max_file_size : null,
    allowed_content_types: strings(loaded.allowed_content_types),
    owner_claim: typeof loaded.owner_claim === 'string' ? loaded.owner_claim : 'sub',
    scanning: loaded.scanning === true,
    variants: strings(loaded.variants),
    variant_types: strings(loaded.variant_types),
  })
}

// ---------- words ----------

/** @param {number} bytes */
export function formatBytes (bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`
  const units = ['KiB', 'MiB', 'GiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1 }
  return `${Number(value.toFixed(value < 10 ? 1 : 0))} ${units[unit]}`
}

/** @param {string} iso */
export function formatDate (iso) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
}

/** @param {string} name */
export const quoted = (name) => `“${name}”`

/** @param {string} text @param {boolean} [isError] */
export function say (text, isError = false) {
  message.textContent = text
  message.classList.toggle('error', isError)
}

/** Clears the status line when it shows an error (a later success makes the error stale). */
export function clearError () {
  if (message.classList.contains('error')) say('')
}

// ---------- filegate's API ----------

/** The token as pasted, without a "Bearer " a person may have copied with it. */
export function token () {
  return tokenField.value.trim().replace(/^Bearer\s+/i, '')
}

/** filegate's UPLOAD_REJECTED message opens with what the page says itself; the reason follows it. */
const REJECTED_PREFIX = /^The upload was rejected and deleted:\s*/i

/**
 * Turns filegate's error shape into a sentence.
 * @param {unknown} body
 * @param {number} status
 * @param {File} [file]
 */
export function describeApiError (body, status, file) {
  const error = typeof body === 'object' && body !== null ? /** @type {Record<string, unknown>} */ (body) : {}
  const code = typeof error.code === 'string' ? error.code : ''
  const text = typeof error.message === 'string' ? error.message : `filegate answered ${status}`
  const name = file === undefined ? 'The file' : quoted(file.name)
  switch (code) {
    case 'UNAUTHORIZED': return `filegate refused the token: ${text}. Paste a valid token above.`
    case 'CONTENT_TYPE_NOT_ALLOWED': return `${name} is not allowed: its type${file?.type ? ` (${file.type})` : ''} is not one this server accepts.`
    case 'FILE_TOO_LARGE': return `${name} is too large${file ? ` (${formatBytes(file.size)})` : ''}: the largest file allowed is ${formatBytes(settings.max_file_size ?? 0)}.`
    case 'UPLOAD_REJECTED': return `filegate rejected ${name} after the upload and deleted it: ${text.replace(REJECTED_PREFIX, '').replace(/\.$/, '')}.`
    case 'RATE_LIMITED': return 'Too many requests: wait a moment and try again.'
    case 'STORAGE_UNAVAILABLE': case 'STORAGE_TIMEOUT': return 'filegate cannot reach its storage right now: try again in a moment.'
    default: return text
  }
}

/**
 * Calls filegate with the token; answers the parsed JSON body, or throws a Failure in words.
 * @param {string} path
 * @param {RequestInit} [init]
 * @param {File} [file] the file the call is about, for the wording of errors
 * @returns {Promise<unknown>}
 */
export async function callApi (path, init = {}, file) {
  const current = token()
  if (current === '') throw new Failure('Paste a token first (step 1).')
  /** @type {Response} */
  let response
  try {
    response = await fetch(`${api}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${current}`, ...(init.body !== undefined && { 'content-type': 'application/json' }) },
    })
  } catch {
    throw new Failure('filegate could not be reached: check the network and that the server is running.')
  }
  if (response.status === 204) return undefined
  const body = await response.json().catch(() => undefined)
  if (!response.ok) throw new Failure(describeApiError(body, response.status, file))
  return body
}
