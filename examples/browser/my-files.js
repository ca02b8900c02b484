// @ts-check
// The demo page's "My files": the owner's files newest first, each with its scan status and thumbnail (polled until final, for a bounded time), download, and delete after a confirmation.
import { callApi, clearError, element, Failure, formatBytes, formatDate, quoted, say, settings, token } from './page.js'

/** @typedef {import('./page.js').FileRecord} FileRecord */
/** @typedef {{ items: FileRecord[], next_cursor: string | null }} FilePage */

const fileList = element('file-list', HTMLTableSectionElement)
const noFiles = element('no-files', HTMLParagraphElement)
const moreButton = element('more', HTMLButtonElement)
const deleteDialog = element('confirm-delete', HTMLDialogElement)
const deleteQuestion = element('confirm-delete-question', HTMLParagraphElement)

/** The first check of a pending file comes this soon; each later one waits longer, up to the longest delay. */
const FIRST_POLL_MS = 500
const LONGEST_POLL_MS = 5_000
/** A file still pending after this long is no longer checked until the list is refreshed. */
const POLL_FOR_MS = 3 * 60_000

/** Bumped whenever the list is started over (a refresh, another token): answers for an older list are dropped. */
let generation = 0

/** @param {unknown} error */
const describe = (error) => error instanceof Failure ? error.message : String(error)

// ---------- scan status and thumbnail ----------

/** @param {FileRecord} record */
function scanText (record) {
  const scan = record.scan
  if (scan === undefined) return ''
  switch (scan.status) {
    case 'pending': return 'Scanning for viruses…'
    case 'clean': return 'Scanned: clean'
    case 'infected': return `Infected (${scan.signature ?? 'a virus'}): removed`
    case 'error': return scan.message === undefined ? 'Not scanned, so not served' : `Not served: ${scan.message}`
  }
}

/** Whether the server will make a thumbnail of this file and has not yet. */
function thumbnailDue (/** @type {FileRecord} */ record) {
  if (!settings.variants.includes('thumb') || !settings.variant_types.includes(record.content_type.toLowerCase())) return false
  if (record.scan !== undefined && record.scan.status !== 'clean' && record.scan.status !== 'pending') return false
  return !(record.variants ?? []).some((variant) => variant.name === 'thumb')
}

/** Whether nothing more is to come for this file: its scan is final and any thumbnail it gets exists. */
const settled = (/** @type {FileRecord} */ record) => record.scan?.status !== 'pending' && !thumbnailDue(record)

/**
 * Shows the record's scan status and, once there is one, its thumbnail (a short-lived URL from `?variant=thumb`).
 * @param {HTMLTableRowElement} row
 * @param {FileRecord} record
 * @param {number} listGeneration
 */
function showState (row, record, listGeneration) {
  const status = row.querySelector('.scan')
  if (status instanceof HTMLElement) {
    status.textContent = scanText(record)
    status.dataset.status = record.scan?.status ?? 'none'
  }
  row.dataset.scan = record.scan?.status ?? 'none'
  const download = row.querySelector('button.download')
  if (download instanceof HTMLButtonElement) download.disabled = record.scan?.status === 'infected'
  const thumb = (record.variants ?? []).find((variant) => variant.name === 'thumb')
  const frame = row.querySelector('.thumb')
  if (thumb === undefined || !(frame instanceof HTMLElement) || frame.childElementCount > 0) return
  const image = document.createElement('img')
  image.alt = `Thumbnail of ${record.filename}`
  image.width = thumb.width
  image.height = thumb.height
  image.decoding = 'async'
  frame.append(image)
  frame.hidden = false
  callApi(`/files/download/${encodeURIComponent(record.id)}?variant=thumb&disposition=inline`).then((grant) => {
    if (listGeneration === generation) image.src = /** @type {{ download_url: string }} */ (grant).download_url
  }, () => { image.remove(); frame.hidden = true })
}

/** Rows whose file is not settled yet, by file id, with when they were first seen unsettled. */
/** @type {Map<string, { row: HTMLTableRowElement, since: number }>} */
const watched = new Map()
/** @type {ReturnType<typeof setTimeout> | undefined} */
let pollTimer
let pollDelay = FIRST_POLL_MS

/** @param {HTMLTableRowElement} row @param {FileRecord} record */
function watch (row, record) {
  if (settled(record)) return
  watched.set(record.id, { row, since: Date.now() })
  pollDelay = FIRST_POLL_MS
  if (pollTimer === undefined) pollTimer = setTimeout(poll, pollDelay)
}

function stopWatching () {
  watched.clear()
  clearTimeout(pollTimer)
  pollTimer = undefined
}

/** Reads each watched file's record again; stops for those that settled, vanished or waited too long. */
async function poll () {
  const listGeneration = generation
  await Promise.all([...watched].map(async ([id, { row, since }]) => {
    let record
    try {
      record = /** @type {FileRecord} */ (await callApi(`/files/${encodeURIComponent(id)}`))
    } catch {
      // Deleted meanwhile, or filegate did not answer: the deadline below ends the checks either way.
    }
    if (listGeneration !== generation) return
    if (record !== undefined) showState(row, record, listGeneration)
    if ((record !== undefined && settled(record)) || !row.isConnected) {
      watched.delete(id)
    } else if (Date.now() - since > POLL_FOR_MS) {
      watched.delete(id)
      const status = row.querySelector('.scan')
      if (status instanceof HTMLElement && record?.scan?.status === 'pending') status.textContent = 'Still waiting for the scan: press Refresh to check again'
    }
  }))
  if (listGeneration !== generation) return
  pollDelay = Math.min(pollDelay * 1.5, LONGEST_POLL_MS)
  pollTimer = watched.size === 0 ? undefined : setTimeout(poll, pollDelay)
}

// ---------- rows ----------

/** @param {FileRecord} record @param {number} listGeneration */
function fileRow (record, listGeneration) {
  const row = document.createElement('tr')
  row.dataset.fileId = record.id
  const cell = (/** @type {string} */ text, /** @type {string} */ className) => {
    const td = document.createElement('td')
    td.className = className
    td.textContent = text
    return td
  }
  const name = cell('', 'name')
  const thumb = document.createElement('span')
  thumb.className = 'thumb'
  thumb.hidden = true
  const text = document.createElement('span')
  text.className = 'name-text'
  const filename = document.createElement('span')
  filename.className = 'filename'
  filename.textContent = record.filename
  const scan = document.createElement('span')
  scan.className = 'scan'
  text.append(filename, scan)
  name.append(thumb, text)

  const created = cell('', 'date')
  const time = document.createElement('time')
  time.dateTime = record.created_at
  time.textContent = formatDate(record.created_at)
  created.append(time)

  const actions = cell('', 'actions')
  const download = document.createElement('button')
  download.type = 'button'
  download.className = 'secondary download'
  download.textContent = 'Download'
  download.addEventListener('click', () => { void downloadFile(record) })
  const remove = document.createElement('button')
  remove.type = 'button'
  remove.className = 'danger'
  remove.textContent = 'Delete'
  remove.addEventListener('click', () => { void deleteFile(record, row, remove) })
  actions.append(download, remove)

  // A long type (application/vnd.openxmlformats-…) may break after its separators, and nowhere inside a word.
  const type = cell(record.content_type.length > 24 ? '' : record.content_type, 'type')
  if (record.content_type.length > 24) for (const part of record.content_type.split(/(?<=[/.+-])/)) type.append(part, document.createElement('wbr'))

  row.append(name, cell(formatBytes(record.size), 'number'), type, created, actions)
  showState(row, record, listGeneration)
  watch(row, record)
  return row
}

/** @type {string | null} */
let nextCursor = null

/** Empties the list at once, for another token: no file of the previous owner stays on screen. */
export function forgetFiles () {
  generation++
  stopWatching()
  fileList.replaceChildren()
  nextCursor = null
  moreButton.hidden = true
  noFiles.hidden = true
}

/** Lists my files, newest first; with `more`, the next page after the rows shown. */
export async function showFiles (more = false) {
  if (token() === '') return
  if (!more) {
    generation++
    stopWatching()
  }
  const listGeneration = generation
  try {
    const query = new URLSearchParams({ limit: '20', ...(more && nextCursor !== null && { cursor: nextCursor }) })
    const page = /** @type {FilePage} */ (await callApi(`/files?${query}`))
    // A newer listing started meanwhile: its answer wins.
    if (listGeneration !== generation) return
    if (!more) fileList.replaceChildren()
    fileList.append(...page.items.map((record) => fileRow(record, listGeneration)))
    nextCursor = page.next_cursor
    moreButton.hidden = nextCursor === null
    noFiles.hidden = fileList.childElementCount > 0
    clearError()
  } catch (error) {
    if (listGeneration === generation) say(describe(error), true)
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
    say(describe(error), true)
  }
}

/**
 * Asks in a modal dialog whether to delete the file; Cancel, Escape or a click on No keep it.
 * @param {FileRecord} record
 * @returns {Promise<boolean>}
 */
async function confirmDelete (record) {
  deleteQuestion.textContent = `Delete ${quoted(record.filename)}?`
  deleteDialog.returnValue = ''
  deleteDialog.showModal()
  return await new Promise((resolve) => {
    deleteDialog.addEventListener('close', () => resolve(deleteDialog.returnValue === 'delete'), { once: true })
  })
}

/**
 * @param {FileRecord} record
 * @param {HTMLTableRowElement} row
 * @param {HTMLButtonElement} button
 */
async function deleteFile (record, row, button) {
  if (!(await confirmDelete(record))) {
    say(`Kept ${quoted(record.filename)}.`)
    return
  }
  button.disabled = true
  try {
    await callApi(`/files/${encodeURIComponent(record.id)}`, { method: 'DELETE' })
    row.remove()
    watched.delete(record.id)
    noFiles.hidden = fileList.childElementCount > 0
    say(`Deleted ${quoted(record.filename)}.`)
  } catch (error) {
    button.disabled = false
    say(describe(error), true)
  }
}

moreButton.addEventListener('click', () => { void showFiles(true) })
