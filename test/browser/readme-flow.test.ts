// The README's "The upload flow" snippet, verbatim, run in Chromium from a page on a third origin (neither filegate's nor S3's) against the test S3.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { bearer, tokenFor } from '../helper.js'
import { launchChromium, openPage, startFilegate, startPageServer, type PageFile } from './setup.js'

const browser = await launchChromium()
t.teardown(() => browser.close())

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
const snippet = /^## The upload flow\s*\n+```js\n([\s\S]*?)\n```/m.exec(readme)?.[1]

/** What the page hands back, checked before the test believes it. */
const FlowResult = Type.Object({
  uploadStatus: Type.Integer(),
  grant: Type.Object({ key: Type.String(), url: Type.String(), file_id: Type.String() }),
  record: Type.Object({ id: Type.String(), key: Type.String(), filename: Type.String(), content_type: Type.String(), size: Type.Integer() }),
})

/**
 * A page that runs the snippet as it is written. Its paths are relative to filegate, and this page lives elsewhere,
 * so a local `fetch` sends relative paths to filegate's origin and everything else (the S3 URL) unchanged.
 */
function readmeFlowPage (code: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>The README's upload flow, from another origin</title>
<h1>The README's upload flow</h1>
<input type="file" id="file">
<pre id="out"></pre>
<script type="module">
window.runReadmeFlow = async (token, api) => {
  const file = document.getElementById('file').files[0]
  const fetch = (input, init) => globalThis.fetch(typeof input === 'string' && input.startsWith('/') ? api + input : input, init)
  // ---- the README's snippet ----
${code}
  // ----
  document.getElementById('out').textContent = JSON.stringify(record, null, 2)
  return { uploadStatus: upload.status, grant, record }
}
</script>
`
}

t.test('the README snippet uploads and confirms a file from a third origin', async (t) => {
  t.ok(snippet, 'the README has a js block under "## The upload flow"')
  if (snippet === undefined) return
  t.match(snippet, /form\.append\('file', file\)[\s\S]*fetch\(grant\.url, \{ method: 'POST', body: form \}\)/, 'the snippet appends the file last and POSTs the form with fetch')

  const pages = new Map<string, PageFile>([['/readme-flow.html', { type: 'text/html; charset=utf-8', body: readmeFlowPage(snippet) }]])
  const pageOrigin = await startPageServer(t, pages)
  const { app, origin, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '1MiB' }, [pageOrigin])
  t.equal(new Set([pageOrigin, origin, s3Origin]).size, 3, `three origins: the page ${pageOrigin}, filegate ${origin}, S3 ${s3Origin}`)

  const { page, pageErrors } = await openPage(t, browser, 'readme-flow')
  const content = Buffer.from('Uploaded by the README snippet from another origin.\n'.repeat(2000))
  await page.goto(`${pageOrigin}/readme-flow.html`)
  await page.setInputFiles('#file', { name: 'readme-notes.txt', mimeType: 'text/plain', buffer: content })
  const raw: unknown = await page.evaluate(async ({ token, api }) => {
    const run = (window as unknown as { runReadmeFlow: (token: string, api: string) => Promise<unknown> }).runReadmeFlow
    return await run(token, api)
  }, { token: tokenFor('carol'), api: origin })
  await page.waitForSelector('#out:not(:empty)')

  t.ok(Value.Check(FlowResult, raw), `the page returns the grant, the S3 status and the record: ${JSON.stringify(raw)}`)
  if (!Value.Check(FlowResult, raw)) return
  t.ok(raw.uploadStatus >= 200 && raw.uploadStatus < 300, `S3 accepted the form (${raw.uploadStatus})`)
  t.equal(new URL(raw.grant.url).origin, s3Origin, 'the form went straight to S3')
  t.equal(raw.record.id, raw.grant.file_id, 'confirm recorded the granted file')
  t.equal(raw.record.filename, 'readme-notes.txt')
  t.equal(raw.record.content_type, 'text/plain')
  t.equal(raw.record.size, content.length)

  const download = await app.inject({ method: 'GET', url: `/files/download/${raw.record.id}`, headers: bearer('carol') })
  const bytes = Buffer.from(await (await fetch(download.json<{ download_url: string }>().download_url)).arrayBuffer())
  t.ok(bytes.equals(content), 'the file downloads intact')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
