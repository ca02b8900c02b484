// @ts-check
// filegate's example upload page: uploads through the browser client (one POST, or resumable parts for large files); the token's owner named as it is pasted; "My files" (my-files.js) lists, downloads and deletes.
import { upload as uploadFile, UploadError } from './filegate-client.js'
import { showFiles, forgetFiles } from './my-files.js'
import { api, describeApiError, element, Failure, formatBytes, loadSettings, quoted, say, settings, token } from './page.js'

const tokenField = element('token', HTMLTextAreaElement)
const tokenHint = element('token-hint', HTMLParagraphElement)
const fileInput = element('files', HTMLInputElement)
const skipChecks = element('skip-checks', HTMLInputElement)
const uploadList = element('uploads', HTMLUListElement)

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

// ---------- the token ----------

/**
 * The owner a token names: its payload is read here, unverified, only to say whose files the list will show; filegate
 * checks the signature on every call. Undefined when the text is not a JWT or names no owner.
 * @param {string} jwt
 * @returns {{ owner: string, expires?: number } | undefined}
 */
function tokenOwner (jwt) {
  const payload = jwt.split('.')[1]
  if (jwt.split('.').length !== 3 || payload === undefined) return undefined
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
    const claims = /** @type {Record<string, unknown>} */ (JSON.parse(new TextDecoder().decode(bytes)))
    const owner = claims[settings.owner_claim]
    if (typeof owner !== 'string' || owner === '') return undefined
    return { owner, ...(typeof claims.exp === 'number' && { expires: claims.exp * 1000 }) }
  } catch {
    return undefined
  }
}

/** Says whose files the token shows, or why it shows none. */
function describeToken () {
  const current = token()
  if (current === '') return 'Paste a token to see and upload files.'
  const named = tokenOwner(current)
  if (named === undefined) return `This is not a token that names an owner: a JWT (three parts separated by dots) whose "${settings.owner_claim}" claim is expected.`
  const expired = named.expires !== undefined && named.expires <= Date.now() ? ` It expired ${new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(named.expires)}.` : ''
  const development = current === settings.token ? ' Pre-filled with the development token (development mode only).' : ''
  return `Token for ${quoted(named.owner)}: “My files” lists their files.${development}${expired}`
}

/** @type {string | undefined} */
let shownToken
/** @type {ReturnType<typeof setTimeout> | undefined} */
let tokenTimer

/** Another token: the hint names its owner at once, the previous owner's files go, and the new owner's are listed. */
function tokenChanged () {
  const current = token()
  if (current === shownToken) return
  shownToken = current
  tokenHint.textContent = describeToken()
  forgetFiles()
  say('')
  // Typing changes the token on each key: list once it has settled.
  clearTimeout(tokenTimer)
  tokenTimer = setTimeout(() => { void showFiles() }, 250)
}

// ---------- start ----------

await loadSettings()
if (settings.token !== null && tokenField.value === '') tokenField.value = settings.token
shownToken = token()
tokenHint.textContent = describeToken()
const types = settings.allowed_content_types.length === 0 ? 'any type' : settings.allowed_content_types.join(', ')
element('limits', HTMLParagraphElement).textContent = settings.max_file_size === null ? '' : `One or several files, up to ${formatBytes(settings.max_file_size)} each; ${types}.`

fileInput.addEventListener('change', () => { void uploadChosenFiles() })
tokenField.addEventListener('input', tokenChanged)
element('refresh', HTMLButtonElement).addEventListener('click', () => { void showFiles() })
document.body.dataset.ready = 'true'
await showFiles()
