// The browser client in Chromium through the demo page: a 200 MiB file in parts with a monotonic progress bar, a network cut survived, a reload resumed.
import { createHash } from 'node:crypto'
import type { Page, Route } from 'playwright-core'
import t from 'tap'
import { bearer, tokenFor } from '../helper.js'
import { launchChromium, openPage, startFilegate } from './setup.js'

const MiB = 1024 * 1024
const browser = await launchChromium()
t.teardown(() => browser.close())

/** The test file's bytes: xorshift32 words from a seed, the same here and in the page (both little-endian). */
function fileBytes (size: number, seed: number): Uint8Array {
  const words = new Uint32Array(size / 4)
  let x = seed
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    words[i] = x
  }
  return new Uint8Array(words.buffer)
}

/** Makes the same file in the page (never stored anywhere) and chooses it in the demo's file input, as a person would. */
async function chooseGeneratedFile (page: Page, size: number, seed: number, name: string): Promise<void> {
  await page.evaluate(({ size, seed, name }) => {
    const words = new Uint32Array(size / 4)
    let x = seed
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
      words[i] = x
    }
    const input = document.getElementById('files')
    if (!(input instanceof HTMLInputElement)) throw new Error('no file input')
    const chosen = new DataTransfer()
    chosen.items.add(new File([words], name, { type: 'application/octet-stream', lastModified: 1_700_000_000_000 }))
    input.files = chosen.files
    input.dispatchEvent(new Event('change', { bubbles: true }))
  }, { size, seed, name })
}

/** Every value the progress bars take, recorded in the page as they change. */
async function recordProgress (page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = []
    Object.assign(window, { progressSeen: seen })
    new MutationObserver(() => {
      const bar = document.querySelector('#uploads progress')
      if (bar instanceof HTMLProgressElement) seen.push(bar.value)
    }).observe(document.getElementById('uploads') ?? document.body, { subtree: true, childList: true, attributes: true, characterData: true })
  })
}

async function finished (page: Page, timeout: number): Promise<{ state: string, status: string }> {
  await page.waitForSelector('#uploads .upload.done, #uploads .upload.failed', { timeout })
  return await page.$eval('#uploads .upload', (item) => ({ state: item.classList.contains('done') ? 'done' : 'failed', status: item.querySelector('.status')?.textContent ?? '' }))
}

/** The part number of an S3 part PUT, or undefined for any other request. */
function partNumberOf (url: string, method: string): number | undefined {
  if (method !== 'PUT') return undefined
  const number = new URL(url).searchParams.get('partNumber')
  return number === null ? undefined : Number(number)
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** A route handler whose calls may fail once the page has gone (a reload cancels the requests it holds). */
const routed = (handle: (route: Route) => Promise<void>) => async (route: Route) => { await handle(route).catch(() => undefined) }

async function downloadedSha256 (app: Awaited<ReturnType<typeof startFilegate>>['app'], owner: string, id: string): Promise<string> {
  const grant = await app.inject({ method: 'GET', url: `/files/download/${id}`, headers: bearer(owner) })
  return sha256(new Uint8Array(await (await fetch(grant.json<{ download_url: string }>().download_url)).arrayBuffer()))
}

async function onlyFile (app: Awaited<ReturnType<typeof startFilegate>>['app'], owner: string): Promise<{ id: string, size: number, uploaded_by: string }[]> {
  return (await app.inject({ method: 'GET', url: '/files', headers: bearer(owner) })).json<{ items: Array<{ id: string, size: number, uploaded_by: string }> }>().items
}

t.test('a 200 MiB file goes up in parts with a visible, monotonic progress bar and downloads with the same SHA-256', async (t) => {
  const size = 200 * MiB
  const { app, origin, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '256MiB', RATE_LIMIT_ENABLED: 'false' })
  const { page, pageErrors } = await openPage(t, browser, 'multipart-200mib')
  const puts: Array<{ number: number, md5: boolean }> = []
  page.on('request', (request) => {
    const number = request.url().startsWith(s3Origin) ? partNumberOf(request.url(), request.method()) : undefined
    if (number !== undefined) puts.push({ number, md5: request.headers()['content-md5'] !== undefined })
  })
  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.fill('#token', tokenFor('alice'))
  await recordProgress(page)
  const started = Date.now()
  await chooseGeneratedFile(page, size, 2463534242, 'big-200MiB.bin')

  const row = await finished(page, 240_000)
  t.equal(row.state, 'done', `the upload finished: ${row.status}`)
  t.comment(`200 MiB from choosing to confirmed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen)
  t.ok(seen.every((value, i) => i === 0 || value >= (seen[i - 1] ?? 0)), `the bar never went back (${seen.length} updates)`)
  t.ok(new Set(seen.filter((v) => v > 0 && v < 100)).size >= 10, `it showed the way there (${[...new Set(seen)].length} distinct values)`)
  t.equal(seen.at(-1), 100, 'and ended full')
  t.equal(await page.textContent('#uploads .percent'), '100 %')

  t.equal(puts.length, 25, 'the file went up as 25 part PUTs')
  t.same([...new Set(puts.map((p) => p.number))].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i + 1), 'one per part, each once')
  t.ok(puts.every((p) => p.md5), 'each with the Content-MD5 its URL signed (computed in the page\'s worker)')
  const [record] = await onlyFile(app, 'alice')
  t.match(record, { size, uploaded_by: 'alice' }, 'filegate recorded it for its owner')
  t.equal(await downloadedSha256(app, 'alice', record?.id ?? ''), sha256(fileBytes(size, 2463534242)), 'the downloaded bytes have the SHA-256 of the file made in the page')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})

t.test('the network cut mid-upload and restored: the upload finishes, and no part that reached S3 is sent again', async (t) => {
  const size = 48 * MiB
  const { app, origin, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '64MiB', RATE_LIMIT_ENABLED: 'false' })
  const { page, pageErrors } = await openPage(t, browser, 'multipart-network-cut')
  const sent = new Map<number, number>()
  const refused = new Map<number, number>()
  let stored = 0
  let cutSince = Number.POSITIVE_INFINITY
  // Once the first part is stored, the network goes away for at least two seconds and four part PUTs.
  const cut = () => Date.now() >= cutSince && (Date.now() < cutSince + 2000 || [...refused.values()].reduce((a, b) => a + b, 0) < 4)
  page.on('requestfinished', (request) => {
    if (partNumberOf(request.url(), request.method()) !== undefined && ++stored === 1) cutSince = Date.now()
  })
  await page.route(`${s3Origin}/**`, routed(async (route) => {
    const number = partNumberOf(route.request().url(), route.request().method())
    if (number === undefined) return await route.continue()
    if (cut()) {
      refused.set(number, (refused.get(number) ?? 0) + 1)
      return await route.abort('internetdisconnected')
    }
    sent.set(number, (sent.get(number) ?? 0) + 1)
    return await route.continue()
  }))
  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.fill('#token', tokenFor('bob'))
  await chooseGeneratedFile(page, size, 88172645, 'through-the-cut.bin')

  const row = await finished(page, 120_000)
  t.equal(row.state, 'done', `the upload finished after the cut: ${row.status}`)
  const refusals = [...refused.values()].reduce((a, b) => a + b, 0)
  t.ok(refusals >= 4, `part PUTs were refused while the network was down (${refusals}: ${JSON.stringify([...refused])})`)
  t.same([...sent.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6], 'every part reached S3')
  t.ok([...sent.values()].every((count) => count === 1), `each exactly once: parts already stored were not sent again (${JSON.stringify([...sent])})`)
  const [record] = await onlyFile(app, 'bob')
  t.equal(await downloadedSha256(app, 'bob', record?.id ?? ''), sha256(fileBytes(size, 88172645)), 'and the file is intact')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})

t.test('the page reloaded mid-upload: choosing the same file again resumes it and sends only the missing parts', async (t) => {
  const size = 40 * MiB + 12
  const { app, origin, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '64MiB', RATE_LIMIT_ENABLED: 'false' })
  const { page, pageErrors } = await openPage(t, browser, 'multipart-reload-resume')
  const before = new Map<number, number>()
  const after = new Map<number, number>()
  let reloaded = false
  await page.route(`${s3Origin}/**`, routed(async (route) => {
    const number = partNumberOf(route.request().url(), route.request().method())
    if (number === undefined) return await route.continue()
    // Before the reload only parts 1 and 3 get through; the others fail as on a dying connection.
    if (!reloaded && number !== 1 && number !== 3) return await route.abort('connectionreset')
    const counts = reloaded ? after : before
    counts.set(number, (counts.get(number) ?? 0) + 1)
    return await route.continue()
  }))
  await page.goto(`${origin}/demo`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.fill('#token', tokenFor('carol'))
  await chooseGeneratedFile(page, size, 1234567891, 'resumed.bin')

  // Poll the server until it holds parts 1 and 3, then reload while the rest keep failing.
  const token = bearer('carol')
  const deadline = Date.now() + 60_000
  let held: number[] = []
  while (Date.now() < deadline) {
    const [unfinished] = (await app.inject({ method: 'GET', url: '/files/multipart', headers: token })).json<{ items: Array<{ file_id: string }> }>().items
    if (unfinished !== undefined) {
      held = (await app.inject({ method: 'GET', url: `/files/multipart/${unfinished.file_id}`, headers: token })).json<{ parts: Array<{ number: number }> }>().parts.map((p) => p.number)
      if (held.length === 2) break
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.same(held, [1, 3], 'before the reload S3 holds parts 1 and 3')
  await page.reload()
  await page.waitForSelector('body[data-ready="true"]')
  // Only now: retries the old page made while it was being unloaded still fail, as they would have.
  reloaded = true
  await page.fill('#token', tokenFor('carol'))
  await chooseGeneratedFile(page, size, 1234567891, 'resumed.bin')

  const row = await finished(page, 120_000)
  t.equal(row.state, 'done', `the resumed upload finished: ${row.status}`)
  t.same([...after.keys()].sort((a, b) => a - b), [2, 4, 5, 6], 'after the reload only the missing parts were sent')
  t.ok([...after.values()].every((count) => count === 1), 'each once')
  t.same([...before.keys()].sort((a, b) => a - b), [1, 3])
  const files = await onlyFile(app, 'carol')
  t.equal(files.length, 1, 'one file was recorded, not a second upload')
  t.equal(await downloadedSha256(app, 'carol', files[0]?.id ?? ''), sha256(fileBytes(size, 1234567891)), 'with the bytes of the file')
  t.same((await app.inject({ method: 'GET', url: '/files/multipart', headers: token })).json<{ items: unknown[] }>().items, [], 'and nothing is left unfinished')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
