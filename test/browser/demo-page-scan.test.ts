// The demo page with scanning and thumbnails on (issue 13), in Chromium against a real clamd and the test S3: each
// file's scan status followed by polling until final, a thumbnail once the `thumb` variant exists, infected and error shown.
import sharp from 'sharp'
import type { Page } from 'playwright-core'
import t from 'tap'
import { tokenFor } from '../helper.js'
import { EICAR_SIGNATURE, eicar, startTestClamd } from '../support/clamd.js'
import { photoWithGps } from '../support/images.js'
import { launchChromium, openPage, startFilegate } from './setup.js'

const browser = await launchChromium()
t.teardown(() => browser.close())

/** How long a scan or a thumbnail may take once clamd answers: retries every 500 ms, the page checks at most every 5 s. */
const SETTLE_MS = 60_000

interface RowState {
  scan: string
  status: string
  thumb?: { complete: boolean, width: number, height: number, src: string }
  downloadDisabled: boolean
}

/** What a person sees of one file in "My files", found by its name; undefined while it is not listed. */
async function rowState (page: Page, filename: string): Promise<RowState | undefined> {
  return await page.evaluate((name) => {
    const row = Array.from(document.querySelectorAll<HTMLTableRowElement>('#file-list tr')).find((r) => r.querySelector('.filename')?.textContent === name)
    if (row === undefined) return undefined
    const image = row.querySelector<HTMLImageElement>('.thumb img')
    return {
      scan: row.dataset.scan ?? '',
      status: row.querySelector('.scan')?.textContent ?? '',
      ...(image !== null && { thumb: { complete: image.complete, width: image.naturalWidth, height: image.naturalHeight, src: image.src } }),
      downloadDisabled: row.querySelector<HTMLButtonElement>('button.download')?.disabled ?? false,
    }
  }, filename)
}

/**
 * Polls until the file's row shows `scan` (and, with `thumbnail`, a loaded thumbnail image), and returns the state that
 * did: the page replaces its rows when a listing answers, so a second look could find a newer row.
 */
async function rowShows (page: Page, filename: string, scan: string, thumbnail = false): Promise<RowState> {
  const deadline = Date.now() + SETTLE_MS
  for (;;) {
    const state = await rowState(page, filename)
    if (state?.scan === scan && (!thumbnail || (state.thumb?.complete === true && state.thumb.width > 0))) return state
    if (Date.now() > deadline) throw new Error(`${filename} did not show ${scan}${thumbnail ? ' with a thumbnail' : ''} within ${SETTLE_MS} ms: ${JSON.stringify(state)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('with clamd away files show pending; once it answers they turn clean without a reload and images get thumbnails; EICAR shows infected; over the stream limit shows error', async (t) => {
  const clamd = await startTestClamd(t, { streamMaxLength: '1M' })
  const { origin, s3Origin } = await startFilegate(t, {
    SCANNER: 'clamav', CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '5000', CLAMD_STREAM_MAX_LENGTH: '1MiB',
    SCAN_RETRY_SCHEDULE: Array(40).fill('500ms').join(','), VARIANTS: 'thumb:256,preview:1024', MAX_FILE_SIZE: '4MiB',
    EVENTS_POLL_INTERVAL: '200ms', EVENTS_GRACE: '2s', EVENTS_LEASE: '3s', WEBHOOK_TIMEOUT_MS: '1000', S3_TIMEOUT_MS: '1000', RATE_LIMIT_ENABLED: 'false',
  })
  const { page, pageErrors } = await openPage(t, browser, 'demo-page-scan')
  const recordReads: string[] = []
  page.on('request', (request) => {
    if (/\/files\/[0-9a-f-]{36}$/.test(new URL(request.url()).pathname) && request.method() === 'GET') recordReads.push(request.url())
  })
  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.fill('#token', tokenFor('alice'))
  await page.waitForSelector('#no-files:not([hidden])')
  await page.evaluate(() => { Object.assign(window, { sameDocument: true }) })

  // clamd away: the images are uploaded and listed as pending, with no thumbnail.
  await clamd.stop()
  const png = await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: 40, g: 160, b: 90 } } }).png().toBuffer()
  await page.setInputFiles('#files', [
    { name: 'holiday.jpg', mimeType: 'image/jpeg', buffer: await photoWithGps() },
    { name: 'square.png', mimeType: 'image/png', buffer: png },
  ])
  for (const name of ['holiday.jpg', 'square.png']) {
    const pending = await rowShows(page, name, 'pending')
    t.equal(pending.status, 'Scanning for viruses…', `${name} is listed as being scanned`)
    t.equal(pending.thumb, undefined, `${name} has no thumbnail yet`)
  }
  t.equal((await page.$$('#uploads .upload.done')).length, 2, 'both uploads were confirmed')

  // clamd back: the page follows each file until it is clean and its thumbnail is there.
  await clamd.start()
  const jpeg = await rowShows(page, 'holiday.jpg', 'clean', true)
  const square = await rowShows(page, 'square.png', 'clean', true)
  t.equal(jpeg.status, 'Scanned: clean', 'the JPEG is shown clean')
  t.equal(square.status, 'Scanned: clean', 'the PNG is shown clean')
  t.same([jpeg.thumb?.width, jpeg.thumb?.height], [128, 256], 'the JPEG\'s thumbnail loaded: the upright 128 × 256 WebP of the 400 × 200 photo turned by its EXIF')
  t.same([square.thumb?.width, square.thumb?.height], [80, 60], 'the PNG\'s thumbnail loaded, not enlarged (80 × 60)')
  for (const thumb of [jpeg.thumb, square.thumb]) {
    const src = new URL(thumb?.src ?? 'about:blank')
    t.equal(src.origin, s3Origin, 'the thumbnail comes straight from S3')
    t.match(src.pathname, /\/_filegate\/variants\/[0-9a-f-]{36}\/thumb\.webp$/, 'and is the thumb variant')
  }
  t.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded: it polled')
  t.ok(recordReads.length >= 2, `the page read the records again while they were pending (${recordReads.length} reads)`)

  // EICAR, built at run time, and a file over clamd's stream limit.
  await page.setInputFiles('#files', [
    { name: 'eicar.txt', mimeType: 'text/plain', buffer: Buffer.from(eicar()) },
    { name: 'too-big-to-scan.txt', mimeType: 'text/plain', buffer: Buffer.alloc(1536 * 1024, 'x') },
  ])
  const infected = await rowShows(page, 'eicar.txt', 'infected')
  t.equal(infected.status, `Infected (${EICAR_SIGNATURE}.UNOFFICIAL): removed`, 'EICAR is shown infected, with the signature')
  t.equal(infected.downloadDisabled, true, 'and cannot be downloaded')
  t.equal(infected.thumb, undefined, 'and has no thumbnail')
  const unscanned = await rowShows(page, 'too-big-to-scan.txt', 'error')
  t.match(unscanned.status, /^Not served: .*over clamd's stream limit.*so it was not scanned$/, `a file over the stream limit says why it was not scanned: ${unscanned.status}`)

  // A fresh listing shows the final states and the thumbnails at once.
  // The rows shown so far are marked, so that only the new listing's rows count.
  await page.evaluate(() => { document.querySelectorAll<HTMLTableRowElement>('#file-list tr').forEach((row) => { row.dataset.beforeRefresh = 'true' }) })
  await page.click('#refresh')
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll<HTMLTableRowElement>('#file-list tr'))
    return rows.length === 4 && rows.every((row) => row.dataset.beforeRefresh === undefined)
  })
  t.equal((await rowShows(page, 'holiday.jpg', 'clean', true)).thumb?.width, 128, 'after Refresh the thumbnail is shown again')
  t.equal((await rowState(page, 'eicar.txt'))?.scan, 'infected', 'and EICAR is still infected')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})

t.test('with variants on and scanning off, an image shows no scan status and gets its thumbnail without a reload', async (t) => {
  const { origin } = await startFilegate(t, { VARIANTS: 'thumb:64', EVENTS_POLL_INTERVAL: '200ms', RATE_LIMIT_ENABLED: 'false' })
  const { page, pageErrors } = await openPage(t, browser, 'demo-page-thumbnail-no-scan')
  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.fill('#token', tokenFor('bob'))
  await page.waitForSelector('#no-files:not([hidden])')
  const png = await sharp({ create: { width: 300, height: 150, channels: 3, background: { r: 200, g: 60, b: 30 } } }).png().toBuffer()
  await page.setInputFiles('#files', [{ name: 'wide.png', mimeType: 'image/png', buffer: png }])
  const row = await rowShows(page, 'wide.png', 'none', true)
  t.equal(row.status, '', 'no scan status is shown when nothing is scanned')
  t.same([row.thumb?.width, row.thumb?.height], [64, 32], 'the 64 px thumbnail of the 300 × 150 PNG loaded')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
