// @ts-check
// filegate's example upload page: uploads through the browser client (one POST, or resumable parts for large files), then lists, downloads and deletes, with failures in words.
import { upload as uploadFile, UploadError } from './filegate-client.js'

/** @typedef {{ id: string, key: string, filename: string, content_type: string, size: number, created_at: string }} FileRecord */
/** @typedef {{ items: FileRecord[], next_cursor: string | null }} FilePage */
/** @typedef {{ token: string | null, max_file_size: number | null, allowed_content_types: string[] }} Settings */

/** A failure a person can act on; its message is shown as it is. */
class Failure extends Error {}

const api = (document.querySelector('meta[name="filegate-api"]')?.getAttribute('content') ?? '').replace(/\/$/, '')

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function element (id, type) {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`)
  return found
}

const tokenField = element('token', HTMLTextAreaElement)
const fileInput = element('files', HTMLInputElement)
const skipChecks = element('skip-checks', HTMLInputElement)
const uploadList = element('uploads', HTMLUListElement)
const fileList = element('file-list', HTMLTableSectionElement)
const message = element('message', HTMLParagraphElement)
const noFiles = element('no-files', HTMLParagraphElement)
const moreButton = element('more', HTMLButtonElement)

/** @type {Settings} */
let settings = { token: null, max_file_size: null, allowed_content_types: [] }

// ---------- words ----------

/** @param {number} bytes */
function formatBytes (bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`
  const units = ['KiB', 'MiB', 'GiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1 }
  return `${Number(value.toFixed(value < 10 ? 1 : 0))} ${units[unit]}`
}

/** @param {string} iso */
function formatDate (iso) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
}

/** @param {string} name */
const quoted = (name) => `“${name}”`

/** @param {string} text @param {boolean} [isError] */
function say (text, isError = false) {
  message.textContent = text
  message.classList.toggle('error', isError)
}

// ---------- filegate's API ----------

function token () {
  return tokenField.value.trim().replace(/^Bearer\s+/i, '')
}

/**
 * Turns filegate's error shape into a sentence.
 * @param {unknown} body
 * @param {number} status
 * @param {File} [file]
 */
function describeApiError (body, status, file) {
  const error = typeof body === 'object' && body !== null ? /** @type {Record<string, unknown>} */ (body) : {}
  const code = typeof error.code === 'string' ? error.code : ''
  const text = typeof error.message === 'string' ? error.message : `filegate answered ${status}`
  const name = file === undefined ? 'The file' : quoted(file.name)
  switch (code) {
    case 'UNAUTHORIZED': return `filegate refused the token: ${text}. Paste a valid token above.`
    case 'CONTENT_TYPE_NOT_ALLOWED': return `${name} is not allowed: its type${file?.type ? ` (${file.type})` : ''} is not one this server accepts.`
    case 'FILE_TOO_LARGE': return `${name} is too large${file ? ` (${formatBytes(file.size)})` : ''}: the largest file allowed is ${formatBytes(settings.max_file_size ?? 0)}.`
    case 'UPLOAD_REJECTED': return `filegate rejected ${name} after the upload and deleted it: ${text}.`
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
async function callApi (path, init = {}, file) {
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

// ---------- S3 ----------

/**
 * The early checks against the server's limits; they save a round trip and say why in words.
 * @param {File} file
 * @returns {string | undefined}
 */
function earlyProblem (file) {
  if (file.size === 0) return `${quoted(file.name)} is empty: there is nothing to upload.`
  const max = settings.max_file_size
  if (max !== null && file.size > max) return `${quoted(file.name)} is too large (${formatBytes(file.size)}): the largest file allowed is ${formatBytes(max)}.`
  const allowed = settings.allowed_content_types
  if (allowed.length > 0 && file.type !== '') {
    const [family] = file.type.split('/')
    if (!allowed.some((type) => type === file.type || type === `${family}/*`)) {
      return `${quoted(file.name)} is not allowed: its type (${file.type}) is not one of ${allowed.join(', ')}.`
    }
  }
  return undefined
}

/**
 * Says why S3 did not take the file, from its answer when the browser may read it, or from what the page knows when not.
 * @param {UploadError} error a 'storage' failure
 * @param {File} file
 */
function describeS3Failure (error, file) {
  const code = error.code
  const detail = code === '' ? '' : error.message
  const name = quoted(file.name)
  const maxSize = error.maxSize
  if (code === 'EntityTooLarge' || (code === '' && maxSize !== undefined && file.size > maxSize)) {
    return `S3 refused ${name}: it is too large (${formatBytes(file.size)}); the largest file allowed is ${formatBytes(maxSize ?? 0)}.`
  }
  if (/expired/i.test(detail) || (code === '' && error.expiresAt !== undefined && Date.now() >= error.expiresAt)) return `The upload URL expired before ${name} reached S3: upload it again.`
  if (code !== '') return `S3 refused ${name}: ${detail || code}.`
  if (error.status === 0) {
    return `S3 refused ${name}, or the network failed: the browser cannot tell which, because S3 sends its errors without CORS headers. Check the connection and try again.`
  }
  return `S3 refused ${name} (HTTP ${error.status}).`
}

/**
 * A failure of the browser client, in words.
 * @param {unknown} error
 * @param {File} file
 */
function describeUploadFailure (error, file) {
  if (!(error instanceof UploadError)) return `Something went wrong: ${String(error)}`
  switch (error.kind) {
    case 'api': return describeApiError({ code: error.code, message: error.message }, error.status, file)
    case 'storage': return describeS3Failure(error, file)
    case 'aborted': return `Cancelled; ${quoted(file.name)} was not uploaded.`
    default: return 'filegate could not be reached: check the network and that the server is running.'
  }
}

// ---------- one upload ----------

/** A row in the upload list: name, progress bar, percentage and a status line. */
function uploadRow (/** @type {File} */ file) {
  const item = document.createElement('li')
  item.className = 'upload'
  const head = document.createElement('div')
  head.className = 'upload-head'
  const name = document.createElement('span')
  name.className = 'name'
  name.textContent = `${file.name} · ${formatBytes(file.size)}`
  const percent = document.createElement('span')
  percent.className = 'percent'
  percent.textContent = '0 %'
  head.append(name, percent)
  const bar = document.createElement('progress')
  bar.max = 100
  bar.value = 0
  const status = document.createElement('p')
  status.className = 'status'
  const cancel = document.createElement('button')
  cancel.type = 'button'
  cancel.className = 'secondary cancel'
  cancel.textContent = 'Cancel'
  const stop = new AbortController()
  cancel.addEventListener('click', () => stop.abort())
  item.append(head, bar, status, cancel)
  uploadList.prepend(item)
  return {
    signal: stop.signal,
    /** @param {number} fraction */
    progress (fraction) {
      const value = Math.floor(fraction * 100)
      bar.value = value
      percent.textContent = `${value} %`
    },
    /** @param {string} text */
    status (text) { status.textContent = text },
    /** @param {string} text */
    done (text) { item.classList.add('done'); status.textContent = text; cancel.remove() },
    /** @param {string} text */
    failed (text) { item.classList.add('failed'); status.textContent = text; cancel.remove() },
  }
}

/** What the client is doing, as the status line says it. */
const STAGES = {
  hashing: 'Computing the file\u2019s checksum…',
  granting: 'Asking filegate for an upload URL…',
  resuming: 'Resuming the unfinished upload of this file…',
  uploading: 'Uploading to S3…',
  completing: 'Completing the upload with filegate…',
  confirming: 'Confirming with filegate…',
}

/**
 * One file through the browser client: a POST grant for small files, resumable parts (4 at a time) for large ones.
 * @param {File} file
 * @param {ReturnType<typeof uploadRow>} row
 */
async function upload (file, row) {
  const early = !skipChecks.checked
  if (early) {
    const problem = earlyProblem(file)
    if (problem !== undefined) throw new Failure(problem)
  }
  if (token() === '') throw new Failure('Paste a token first (step 1).')
  let stage = ''
  try {
    const record = await uploadFile(file, {
      api,
      token: token(),
      // Declaring the size makes filegate refuse a file that is too large before any byte moves, and tightens what S3 enforces.
      declareSize: early,
      signal: row.signal,
      onStage: (next) => { stage = next; row.status(STAGES[next]) },
      onProgress: ({ loaded, total }) => {
        row.progress(loaded / total)
        if (loaded >= total && stage === 'uploading') row.status('Sent; waiting for S3…')
      },
    })
    row.progress(1)
    row.done(`Uploaded and confirmed (${formatBytes(record.size)}, ${record.content_type}).`)
  } catch (error) {
    throw new Failure(describeUploadFailure(error, file))
  }
}

async function uploadChosenFiles () {
  const files = [...(fileInput.files ?? [])]
  // Clear the input so that choosing the same file again uploads it again.
  fileInput.value = ''
  if (files.length === 0) return
  await Promise.all(files.map(async (file) => {
    const row = uploadRow(file)
    try {
      await upload(file, row)
    } catch (error) {
      row.failed(error instanceof Failure ? error.message : `Something went wrong: ${String(error)}`)
    }
  }))
  await showFiles()
}

// ---------- my files ----------

/** @param {FileRecord} record */
function fileRow (record) {
  const row = document.createElement('tr')
  row.dataset.fileId = record.id
  const cell = (/** @type {string} */ text, /** @type {string} */ className) => {
    const td = document.createElement('td')
    td.className = className
    td.textContent = text
    return td
  }
  const created = cell('', 'date')
  const time = document.createElement('time')
  time.dateTime = record.created_at
  time.textContent = formatDate(record.created_at)
  created.append(time)

  const actions = cell('', 'actions')
  const download = document.createElement('button')
  download.type = 'button'
  download.className = 'secondary'
  download.textContent = 'Download'
  download.addEventListener('click', () => { void downloadFile(record) })
  const remove = document.createElement('button')
  remove.type = 'button'
  remove.className = 'danger'
  remove.textContent = 'Delete'
  remove.addEventListener('click', () => { void deleteFile(record, row, remove) })
  actions.append(download, remove)

  row.append(cell(record.filename, 'name'), cell(formatBytes(record.size), 'number'), cell(record.content_type, 'type'), created, actions)
  return row
}

/** @type {string | null} */
let nextCursor = null
let listing = 0

/** Lists my files, newest first; with `more`, the next page after the rows shown. */
async function showFiles (more = false) {
  if (token() === '') return
  const generation = ++listing
  try {
    const query = new URLSearchParams({ limit: '20', ...(more && nextCursor !== null && { cursor: nextCursor }) })
    const page = /** @type {FilePage} */ (await callApi(`/files?${query}`))
    // A newer listing started meanwhile: its answer wins.
    if (generation !== listing) return
    if (!more) fileList.replaceChildren()
    fileList.append(...page.items.map(fileRow))
    nextCursor = page.next_cursor
    moreButton.hidden = nextCursor === null
    noFiles.hidden = fileList.childElementCount > 0
    if (message.classList.contains('error')) say('')
  } catch (error) {
    if (generation === listing) say(error instanceof Failure ? error.message : String(error), true)
  }
}

/** @param {FileRecord} record */
async function downloadFile (record) {
  try {
    const grant = /** @type {{ download_url: string }} */ (await callApi(`/files/download/${encodeURIComponent(record.id)}`))
    // The URL answers with Content-Disposition: attachment, so following it saves the file and leaves this page alone.
    const link = document.createElement('a')
    link.href = grant.download_url
    link.rel = 'noopener'
    document.body.append(link)
    link.click()
    link.remove()
    say(`Downloading ${quoted(record.filename)}.`)
  } catch (error) {
    say(error instanceof Failure ? error.message : String(error), true)
  }
}

/**
 * @param {FileRecord} record
 * @param {HTMLTableRowElement} row
 * @param {HTMLButtonElement} button
 */
async function deleteFile (record, row, button) {
  button.disabled = true
  try {
    await callApi(`/files/${encodeURIComponent(record.id)}`, { method: 'DELETE' })
    row.remove()
    noFiles.hidden = fileList.childElementCount > 0
    say(`Deleted ${quoted(record.filename)}.`)
  } catch (error) {
    button.disabled = false
    say(error instanceof Failure ? error.message : String(error), true)
  }
}

// ---------- start ----------

/** The limits and, in development, a token; a page served elsewhere may not have them. */
async function loadSettings () {
  const response = await fetch(`${api}/demo/settings.json`).catch(() => undefined)
  if (response?.ok !== true) return
  const loaded = /** @type {Partial<Settings>} */ (await response.json())
  settings = {
    token: typeof loaded.token === 'string' ? loaded.token : null,
    max_file_size: typeof loaded.max_file_size === 'number' ? loaded.max_file_size : null,
    allowed_content_types: Array.isArray(loaded.allowed_content_types) ? loaded.allowed_content_types.filter((t) => typeof t === 'string') : [],
  }
}

await loadSettings()
if (settings.token !== null && tokenField.value === '') {
  tokenField.value = settings.token
  element('token-hint', HTMLParagraphElement).textContent = 'Pre-filled with the development token of "dev-user" (development mode only).'
}
const types = settings.allowed_content_types.length === 0 ? 'any type' : settings.allowed_content_types.join(', ')
element('limits', HTMLParagraphElement).textContent = settings.max_file_size === null ? '' : `One or several files, up to ${formatBytes(settings.max_file_size)} each; ${types}.`

fileInput.addEventListener('change', () => { void uploadChosenFiles() })
tokenField.addEventListener('change', () => { void showFiles() })
element('refresh', HTMLButtonElement).addEventListener('click', () => { void showFiles() })
moreButton.addEventListener('click', () => { void showFiles(true) })
document.body.dataset.ready = 'true'
await showFiles()
