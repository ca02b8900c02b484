// Swagger UI at /docs in Chromium: it renders filegate's document, "Authorize" takes a token, and "Try it out" on GET /files answers 200.
import t from 'tap'
import { tokenFor } from '../helper.js'
import { launchChromium, openPage, startFilegate } from './setup.js'

const browser = await launchChromium()
t.teardown(() => browser.close())

t.test('Swagger UI renders, accepts a token and runs GET /files', async (t) => {
  const { origin } = await startFilegate(t, {})
  const { page, pageErrors } = await openPage(t, browser, 'swagger-ui')
  await page.goto(`${origin}/docs`)

  await page.waitForSelector('.swagger-ui .info .title')
  t.match(await page.textContent('.swagger-ui .info .title'), /filegate/, 'the title is filegate')
  const listFiles = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/files"])')
  await listFiles.waitFor()
  t.ok(await page.locator('.opblock-summary-path[data-path="/files/upload-url"]').count() > 0, 'POST /files/upload-url is listed')

  await page.click('.swagger-ui .auth-wrapper button.authorize')
  await page.fill('.modal-ux input[aria-label="auth-bearer-value"]', tokenFor('erin'))
  await page.click('.modal-ux .auth-btn-wrapper button.authorize')
  await page.waitForSelector('.modal-ux button:has-text("Logout")')
  t.match(await page.textContent('.modal-ux'), /Authorized/, 'the dialog accepted the token: it says Authorized and offers Logout')
  await page.click('.modal-ux button:has-text("Close")')
  await page.waitForSelector('.modal-ux', { state: 'detached' })
  t.ok(await page.locator('.swagger-ui .auth-wrapper button.authorize.locked').count() > 0, 'the Authorize button shows a closed lock')
  t.equal(await page.evaluate(() => localStorage.getItem('authorized')), null, 'the token is kept in the page only, not in localStorage (DOCS_PERSIST_AUTHORIZATION is off)')

  await listFiles.locator('.opblock-summary-control').click()
  const tryItOut = listFiles.locator('button.try-out__btn')
  await tryItOut.waitFor()
  // tryItOutEnabled opens the form at once; the button then reads "Cancel".
  if ((await tryItOut.textContent())?.trim() === 'Try it out') await tryItOut.click()
  await listFiles.locator('button.execute').click()
  const status = listFiles.locator('.live-responses-table .response .response-col_status')
  await status.first().waitFor()
  t.equal((await status.first().textContent())?.trim(), '200', 'GET /files answers 200 with the token')
  t.match(await listFiles.locator('.curl-command').textContent(), /Authorization: Bearer /, 'the request carried the token')
  t.match(await listFiles.locator('.live-responses-table').textContent(), /"items": \[\]/, 'the body is my (empty) list of files')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})

t.test('with DOCS_PERSIST_AUTHORIZATION=true the token Authorize takes is kept in localStorage', async (t) => {
  const { origin } = await startFilegate(t, { DOCS_PERSIST_AUTHORIZATION: 'true' })
  const { page, pageErrors } = await openPage(t, browser, 'swagger-ui-persisted')
  await page.goto(`${origin}/docs`)
  await page.click('.swagger-ui .auth-wrapper button.authorize')
  const token = tokenFor('erin')
  await page.fill('.modal-ux input[aria-label="auth-bearer-value"]', token)
  await page.click('.modal-ux .auth-btn-wrapper button.authorize')
  await page.waitForSelector('.modal-ux button:has-text("Logout")')
  t.ok((await page.evaluate(() => localStorage.getItem('authorized')))?.includes(token), 'localStorage.authorized holds the token')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
