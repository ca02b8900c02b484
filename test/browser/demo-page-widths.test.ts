// The demo page at a phone's width (390 px) and a desktop's (1280 px), in Chromium (issue 15, item 9): nothing wider
// than its card, Delete asks first, another token names its owner and lists that owner's files, a rejection said once.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import t from 'tap'
import { bearer, postToS3, tokenFor } from '../helper.js'
import { confirm, type Grant } from '../support/flow.js'
import { launchChromium, openPage, SCREENSHOTS, startFilegate } from './setup.js'

const browser = await launchChromium()
t.teardown(() => browser.close())

const LONG_NAME = 'quarterly-report-for-the-board-of-directors-with-every-appendix-included-final-version-3.dat'
/** A long type with no word break in it, as office formats have. */
const LONG_TYPE = 'application/vnd.example.quarterly-report-with-appendices.version-3'

async function seed (app: FastifyInstance, owner: string, filename: string, contentType = 'text/plain'): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/files/upload-url', headers: bearer(owner), payload: { filename, content_type: contentType } })
  const grant = res.json<Grant>()
  if ((await postToS3(grant, `a file of ${owner}\n`)).status !== 204) throw new Error('S3 refused the upload')
  const confirmed = await confirm(app, owner, grant.key)
  if (confirmed.statusCode !== 201) throw new Error(`confirm answered ${confirmed.statusCode}`)
}

const listed = async (app: FastifyInstance, owner: string) =>
  (await app.inject({ method: 'GET', url: '/files', headers: bearer(owner) })).json<{ items: Array<{ filename: string }> }>().items.map((i) => i.filename)

interface Widths { page: number, viewport: number, overflowing: string[] }

/** The document's width against the viewport's, and every card (or the table's frame) whose content is wider than it. */
async function widths (page: Page): Promise<Widths> {
  return await page.evaluate(() => {
    const boxes = [...Array.from(document.querySelectorAll('section')), ...Array.from(document.querySelectorAll('.table-frame'))]
    return {
      page: document.scrollingElement?.scrollWidth ?? Number.POSITIVE_INFINITY,
      viewport: window.innerWidth,
      overflowing: boxes.filter((box) => box.scrollWidth > box.clientWidth).map((box) => `${box.tagName.toLowerCase()}.${box.className || box.getAttribute('aria-labelledby') || ''}: ${box.scrollWidth} > ${box.clientWidth}`),
    }
  })
}

const textOf = async (page: Page, selector: string) => (await page.textContent(selector)) ?? ''
const rowOf = (name: string) => `#file-list tr:has(td.name:has-text("${name}"))`
/** Waits for `selector` for at most `ms`; answers whether it appeared, so that a test can say so and go on. */
const appears = async (page: Page, selector: string, ms: number) => await page.waitForSelector(selector, { timeout: ms }).then(() => true, () => false)

for (const width of [390, 1280]) {
  t.test(`at ${width} px: no overflow, Delete asks first, another token lists its owner's files, a rejection is said once`, async (t) => {
    const { app, origin } = await startFilegate(t, { RATE_LIMIT_ENABLED: 'false' }, [], { developmentToken: () => tokenFor('dev-user') })
    await seed(app, 'dev-user', 'dev-notes.txt')
    await seed(app, 'alice', LONG_NAME, LONG_TYPE)
    await seed(app, 'alice', 'keep-me.txt')
    const { page, pageErrors } = await openPage(t, browser, `demo-page-${width}`)
    await page.setViewportSize({ width, height: 900 })
    const shot = async (name: string) => {
      await mkdir(SCREENSHOTS, { recursive: true })
      await page.screenshot({ path: join(SCREENSHOTS, `demo-page-${width}-${name}.png`), fullPage: true })
    }

    await page.goto(`${origin}/demo`)
    await page.waitForSelector('body[data-ready="true"]')
    await page.waitForSelector(rowOf('dev-notes.txt'))
    t.match(await textOf(page, '#token-hint'), /dev-user.*development token|development token.*dev-user/, 'the pre-filled token is named as dev-user\'s')

    // Another token, pasted: the hint names its owner at once, and the list becomes that owner's.
    await page.fill('#token', tokenFor('alice'))
    const reloaded = await appears(page, rowOf(LONG_NAME), 10_000)
    t.ok(reloaded, 'the list reloads with the new token by itself')
    // Without that, a person would press Refresh; so does the test, to check the rest.
    if (!reloaded) await page.click('#refresh')
    await page.waitForSelector(rowOf(LONG_NAME))
    await page.waitForSelector(rowOf('keep-me.txt'))
    const hint = await textOf(page, '#token-hint')
    t.match(hint, /“alice”/, `the hint names alice: ${hint}`)
    t.notMatch(hint, /dev-user|development token/, 'and no longer dev-user or the development token')
    t.equal(await page.locator(rowOf('dev-notes.txt')).count(), 0, 'dev-user\'s file is no longer listed')
    t.same((await page.$$eval('#file-list td.name', (names) => names.map((n) => n.textContent))).sort(), ['keep-me.txt', LONG_NAME].sort(), 'alice\'s files are listed, and only they')

    // A file the server rejects: its reason is said once.
    await page.setInputFiles('#files', [{ name: 'holiday.png', mimeType: 'image/png', buffer: Buffer.from('these bytes are plain text, not a PNG\n') }])
    await page.waitForSelector('#uploads .upload.failed')
    const rejection = await textOf(page, '#uploads .upload.failed .status')
    t.match(rejection, /^filegate rejected “holiday\.png” after the upload and deleted it: \S/, `the page says it was rejected: ${rejection}`)
    t.equal(rejection.match(/reject/gi)?.length, 1, 'it says "rejected" once')
    t.equal(rejection.match(/delete/gi)?.length, 1, 'and "deleted" once')
    t.notMatch(rejection, /\.\.$/, 'and ends with one full stop')

    const layout = await widths(page)
    t.ok(layout.page <= layout.viewport, `the page is ${layout.page} px wide in a ${layout.viewport} px viewport`)
    t.equal(layout.viewport, width, 'the viewport is the width under test')
    t.same(layout.overflowing, [], 'no card, nor the table in its frame, is wider than its box')
    t.equal(await textOf(page, `${rowOf(LONG_NAME)} td.type`), LONG_TYPE, 'the long type is shown whole')
    const box = await page.locator(rowOf(LONG_NAME)).boundingBox()
    const card = await page.locator('section[aria-labelledby="files-heading"]').boundingBox()
    t.ok(box !== null && card !== null && box.x >= card.x && box.x + box.width <= card.x + card.width, `the long name's row lies inside its card (${JSON.stringify(box)} in ${JSON.stringify(card)})`)
    await shot('list')

    // Delete asks first; Cancel keeps the file.
    await page.click(`${rowOf('keep-me.txt')} button:has-text("Delete")`)
    const asked = await appears(page, '#confirm-delete[open]', 5_000)
    t.ok(asked, 'Delete opens a dialog')
    if (!asked) {
      t.ok((await listed(app, 'alice')).includes('keep-me.txt'), 'a click on Delete alone keeps the file')
      return
    }
    t.equal(await textOf(page, '#confirm-delete-question'), 'Delete “keep-me.txt”?', 'a dialog asks, naming the file')
    const dialog = await page.locator('#confirm-delete').boundingBox()
    t.ok(dialog !== null && dialog.x >= 0 && dialog.x + dialog.width <= width, `the dialog fits the viewport (${JSON.stringify(dialog)})`)
    await shot('delete-dialog')
    await page.click('#confirm-delete button[value="cancel"]')
    await page.waitForSelector('#confirm-delete', { state: 'hidden' })
    t.equal(await page.locator(rowOf('keep-me.txt')).count(), 1, 'after Cancel the file is still listed')
    t.equal(await textOf(page, '#message'), 'Kept “keep-me.txt”.', 'and the page says it was kept')
    t.ok((await listed(app, 'alice')).includes('keep-me.txt'), 'and filegate still has it')

    // Escape keeps it too; Delete in the dialog deletes.
    await page.click(`${rowOf('keep-me.txt')} button:has-text("Delete")`)
    await page.waitForSelector('#confirm-delete[open]')
    await page.keyboard.press('Escape')
    await page.waitForSelector('#confirm-delete', { state: 'hidden' })
    t.ok((await listed(app, 'alice')).includes('keep-me.txt'), 'Escape keeps the file')
    await page.click(`${rowOf('keep-me.txt')} button:has-text("Delete")`)
    await page.click('#confirm-delete button[value="delete"]')
    await page.waitForSelector(rowOf('keep-me.txt'), { state: 'detached' })
    t.equal(await textOf(page, '#message'), 'Deleted “keep-me.txt”.', 'confirmed, the file is deleted')
    t.same(await listed(app, 'alice'), [LONG_NAME], 'filegate no longer lists it')
    t.same(pageErrors, [], 'no uncaught errors in the page')
  })
}
