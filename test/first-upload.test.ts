// The README's "A first upload" code, exactly as written there: its Node script run by this Node.js, and its function run in Chromium from a page on a third origin.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { tokenFor } from './helper.js'
import { launchChromium, openPage, startFilegate, startPageServer, type PageFile } from './browser/setup.js'

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
/** The js blocks of the README's "A first upload" section, in order. */
const section = /^## A first upload\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? ''
const [uploadFunction, nodeScript] = [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '')

/** What the README's code hands back. */
const Result = Type.Object({
  record: Type.Object({ id: Type.String(), key: Type.String(), filename: Type.String(), content_type: Type.String(), size: Type.Integer(), uploaded_by: Type.String() }),
  download_url: Type.String(),
})

t.test('the README has the function and the Node script', (t) => {
  t.match(uploadFunction, /async function uploadFile \(\{ api, token, file \}\)/, 'the first block defines uploadFile')
  t.match(nodeScript, /await uploadFile\(/, 'the second block calls it')
  t.end()
})

t.test(`the Node script uploads, confirms and downloads a file (Node.js ${process.version})`, async (t) => {
  const { origin, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '1MiB' })
  const directory = await mkdtemp(join(tmpdir(), 'filegate-first-upload-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  // As the README says: save the function with these lines as upload.mjs, run it with a token and a file.
  await writeFile(join(directory, 'upload.mjs'), `${uploadFunction ?? ''}\n${nodeScript ?? ''}`)
  const content = Buffer.from('Uploaded by the README\'s Node script.\n'.repeat(500))
  await writeFile(join(directory, 'notes.txt'), content)

  const { stdout } = await promisify(execFile)(process.execPath, ['upload.mjs', 'notes.txt'], {
    cwd: directory,
    env: { PATH: process.env.PATH, FILEGATE_URL: origin, FILEGATE_TOKEN: tokenFor('dora') },
    timeout: 60_000,
  })
  const result: unknown = JSON.parse(stdout)
  t.ok(Value.Check(Result, result), `it prints the record and a download URL: ${stdout}`)
  if (!Value.Check(Result, result)) return
  t.equal(result.record.filename, 'notes.txt')
  t.equal(result.record.content_type, 'text/plain', 'the type was inferred from the name')
  t.equal(result.record.size, content.length)
  t.equal(result.record.uploaded_by, 'dora')
  t.equal(new URL(result.download_url).origin, s3Origin, 'the download URL points at S3')
  const downloaded = Buffer.from(await (await fetch(result.download_url)).arrayBuffer())
  t.ok(downloaded.equals(content), 'the download URL serves the same bytes')
})

t.test('the function uploads, confirms and downloads a file in Chromium from a third origin', async (t) => {
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  // The function as a classic script, so it is a global the page can call; nothing wraps or changes it.
  const pages = new Map<string, PageFile>([
    ['/first-upload.html', { type: 'text/html; charset=utf-8', body: '<!doctype html>\n<meta charset="utf-8">\n<title>The README\'s first upload</title>\n<input type="file" id="file">\n<script src="/upload-file.js"></script>\n' }],
    ['/upload-file.js', { type: 'text/javascript; charset=utf-8', body: uploadFunction ?? '' }],
  ])
  const pageOrigin = await startPageServer(t, pages)
  const { app, origin, s3Origin } = await startFilegate(t, { MAX_FILE_SIZE: '1MiB' }, [pageOrigin])
  t.equal(new Set([pageOrigin, origin, s3Origin]).size, 3, `three origins: the page ${pageOrigin}, filegate ${origin}, S3 ${s3Origin}`)

  const { page, pageErrors } = await openPage(t, browser, 'first-upload')
  await page.goto(`${pageOrigin}/first-upload.html`)
  const content = Buffer.from('Uploaded by the README\'s function from another origin.\n'.repeat(500))
  await page.setInputFiles('#file', { name: 'photo-notes.txt', mimeType: 'text/plain', buffer: content })
  const raw: unknown = await page.evaluate(async ({ api, token }) => {
    const input = document.querySelector<HTMLInputElement>('#file')
    const file = input?.files?.[0]
    const uploadFile = (window as unknown as { uploadFile: (options: { api: string, token: string, file: File | undefined }) => Promise<{ download_url: string }> }).uploadFile
    const result = await uploadFile({ api, token, file })
    // The page itself downloads the file too, from S3's origin.
    const downloaded = await (await fetch(result.download_url)).text()
    return { ...result, downloaded }
  }, { api: origin, token: tokenFor('erin') })

  const WithDownload = Type.Intersect([Result, Type.Object({ downloaded: Type.String() })])
  t.ok(Value.Check(WithDownload, raw), `the page gets the record and a download URL: ${JSON.stringify(raw).slice(0, 400)}`)
  if (!Value.Check(WithDownload, raw)) return
  t.equal(raw.record.filename, 'photo-notes.txt')
  t.equal(raw.record.content_type, 'text/plain')
  t.equal(raw.record.size, content.length)
  t.equal(raw.downloaded, content.toString(), 'the page downloaded the same text from S3')
  const record = await app.inject({ method: 'GET', url: `/files/${raw.record.id}`, headers: { authorization: `Bearer ${tokenFor('erin')}` } })
  t.equal(record.statusCode, 200, 'filegate has the record')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
