// The example page at /demo in Chromium against the test S3: a 5 MiB upload with progress, list, download and delete; a file over the limit refused in words.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import t from 'tap'
import { bearer, listKeys, tokenFor } from '../helper.js'
import { liveKeys } from '../support/flow.js'
import { launchChromium, openPage, startFilegate } from './setup.js'

const MiB = 1024 * 1024
const browser = await launchChromium()
t.teardown(() => browser.close())

interface UploadRow { name: string, percent: string, value: number, status: string, state: 'done' | 'failed' | 'busy' }

/** The upload list as a person sees it, newest first. */
async function uploadRows (page: Page): Promise<UploadRow[]> {
  return await page.$$eval('#uploads .upload', (items) => items.map((item) => ({
    name: item.querySelector('.name')?.textContent ?? '',
    percent: item.querySelector('.percent')?.textContent ?? '',
    value: item.querySelector('progress')?.value ?? -1,
    status: item.querySelector('.status')?.textContent ?? '',
    state: item.classList.contains('done') ? 'done' as const : item.classList.contains('failed') ? 'failed' as const : 'busy' as const,
  })))
}

/** Waits until `count` uploads have finished, one way or the other. */
async function settled (page: Page, count: number): Promise<UploadRow[]> {
  await page.waitForFunction((n) => document.querySelectorAll('#uploads .upload.done, #uploads .upload.failed').length >= n, count)
  return await uploadRows(page)
}

/** Every value the progress bars take, recorded in the page as they change. */
async function recordProgress (page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = []
    Object.assign(window, { progressSeen: seen })
    new MutationObserver(() => {
      for (const bar of Array.from(document.querySelectorAll('#uploads progress'))) if (bar instanceof HTMLProgressElement) seen.push(bar.value)
    }).observe(document.getElementById('uploads') ?? document.body, { subtree: true, childList: true, attributes: true, characterData: true })
  })
}

t.test('the page uploads a 5 MiB file with a progress bar, lists it, downloads the same bytes and deletes it', async (t) => {
  const { app, origin, bucket, s3 } = await startFilegate(t, { MAX_FILE_SIZE: '6MiB' })
  const { page, pageErrors } = await openPage(t, browser, 'demo-page-upload')
  const big = randomBytes(5 * MiB)
  const note = Buffer.from('A second file, chosen together with the first.\n')

  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  t.match(await page.textContent('#limits'), /up to 6 MiB each; any type/, 'the page shows the limit it checks early')
  await page.fill('#token', tokenFor('alice'))
  await recordProgress(page)
  // Loopback moves 5 MiB at once; at 10 MiB/s the bar has time to show the way there.
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 10 * MiB })
  await page.setInputFiles('#files', [
    { name: 'big.bin', mimeType: 'application/octet-stream', buffer: big },
    { name: 'note.txt', mimeType: 'text/plain', buffer: note },
  ])

  const rows = await settled(page, 2)
  for (const row of rows) {
    t.equal(row.state, 'done', `${row.name} is uploaded and confirmed: ${row.status}`)
    t.equal(row.value, 100, `${row.name}: the progress bar is full`)
    t.equal(row.percent, '100 %', `${row.name}: it says 100 %`)
  }
  const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen)
  t.ok(seen.some((value) => value > 0 && value < 100), `the bar moved through values between 0 and 100 (${[...new Set(seen)].join(', ')})`)
  t.ok(seen.includes(100), 'the progress bar reached 100')

  await page.waitForSelector('#file-list tr:has-text("big.bin")')
  const cells = await page.$$eval('#file-list tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')))
  const bigCells = cells.find((c) => c[0] === 'big.bin')
  t.equal(cells.length, 2, 'both files are listed')
  t.equal(bigCells?.[1], '5 MiB', 'the list shows the size')
  t.equal(bigCells?.[2], 'application/octet-stream', 'the list shows the type')
  t.match(bigCells?.[3] ?? '', /\d/, 'the list shows the date')

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#file-list tr:has-text("big.bin") button:has-text("Download")')])
  t.equal(download.suggestedFilename(), 'big.bin', 'the download keeps the file name')
  const downloaded = await readFile(await download.path())
  t.equal(downloaded.length, big.length, 'the download has the same length')
  t.ok(downloaded.equals(big), 'the download has the same bytes')

  await page.click('#file-list tr:has-text("big.bin") button:has-text("Delete")')
  await page.click('#confirm-delete button[value="delete"]')
  await page.waitForSelector('#file-list tr:has-text("big.bin")', { state: 'detached' })
  t.equal(await page.textContent('#message'), 'Deleted “big.bin”.', 'the page says it deleted the file')
  const listed = (await app.inject({ method: 'GET', url: '/files', headers: bearer('alice') })).json<{ items: Array<{ filename: string }> }>()
  t.same(listed.items.map((i) => i.filename), ['note.txt'], 'filegate no longer lists the deleted file')
  t.equal((await listKeys(s3, bucket, 'uploads/')).length, 1, 'its object is gone from the bucket')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})

t.test('a file over the limit is refused early, and by S3 when the early checks are skipped, in words and with no record left; so is a refused type', async (t) => {
  const { app, origin, bucket, s3, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '1MiB', ALLOWED_CONTENT_TYPES: 'application/octet-stream,image/*' })
  const { page, pageErrors } = await openPage(t, browser, 'demo-page-too-large')
  const tooLarge = { name: 'too-large.bin', mimeType: 'application/octet-stream', buffer: randomBytes(MiB + 512 * 1024) }
  const s3Posts: string[] = []
  page.on('response', (response) => {
    if (response.url().startsWith(s3Origin) && response.request().method() === 'POST') s3Posts.push(`${response.status()}`)
  })
  page.on('requestfailed', (request) => {
    if (request.url().startsWith(s3Origin) && request.method() === 'POST') s3Posts.push(`failed: ${request.failure()?.errorText ?? '?'}`)
  })

  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.fill('#token', tokenFor('bob'))

  await page.setInputFiles('#files', [tooLarge])
  const [early] = await settled(page, 1)
  t.equal(early?.state, 'failed', 'the upload fails')
  t.equal(early?.status, '“too-large.bin” is too large (1.5 MiB): the largest file allowed is 1 MiB.', 'the page says why before sending anything')
  t.same(s3Posts, [], 'nothing was sent to S3')

  await page.check('#skip-checks')
  await page.setInputFiles('#files', [tooLarge])
  const [refused] = await settled(page, 2)
  t.equal(refused?.state, 'failed', 'the upload fails')
  t.equal(refused?.status, 'S3 refused “too-large.bin”: it is too large (1.5 MiB); the largest file allowed is 1 MiB.', 'the page says in words that S3 refused it as too large')
  t.equal(s3Posts.length, 1, `the browser posted the file to S3 once (${s3Posts.join(', ')})`)
  t.notOk(/^2/.test(s3Posts[0] ?? ''), `S3 did not accept it (${s3Posts[0] ?? 'no answer'})`)

  // A type the server does not take: the page says so early, and with the early checks skipped, filegate does.
  const text = { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('plain text') }
  await page.setInputFiles('#files', [text])
  t.equal((await settled(page, 3))[0]?.status, '“notes.txt” is not allowed: its type (text/plain) is not one this server accepts.', 'filegate refuses the type, in words')
  await page.uncheck('#skip-checks')
  await page.setInputFiles('#files', [text])
  t.equal((await settled(page, 4))[0]?.status, '“notes.txt” is not allowed: its type (text/plain) is not one of application/octet-stream, image/*.', 'the page refuses the type early, in words')
  t.equal(s3Posts.length, 1, 'neither reached S3')

  const listed = (await app.inject({ method: 'GET', url: '/files', headers: bearer('bob') })).json<{ items: unknown[] }>()
  t.same(listed.items, [], 'filegate lists no file')
  t.same(await liveKeys(s3, bucket), [], 'the bucket holds no object, no record and no index entry (only tombstones)')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
