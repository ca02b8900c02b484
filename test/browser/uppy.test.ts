// Uppy 6 (@uppy/core with @uppy/aws-s3 and filegate's adapter, bundled with esbuild at test time) from a third origin in Chromium: a POST grant, and parts over 100 MiB.
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { bearer, tokenFor } from '../helper.js'
import { launchChromium, openPage, startFilegate, startPageServer, type PageFile } from './setup.js'

const bundlePath = fileURLToPath(new URL('../artifacts/uppy/uppy-client.js', import.meta.url))
const browser = await launchChromium()
t.teardown(() => browser.close())

const UppyResult = Type.Object({
  key: Type.String(),
  location: Type.String(),
  confirmStatus: Type.Integer(),
  progress: Type.Array(Type.Number()),
  record: Type.Object({ id: Type.String(), key: Type.String(), filename: Type.String(), content_type: Type.String(), size: Type.Integer() }),
})

/** Bundles the Uppy client and serves it on a page of a third origin; filegate lets that origin in. */
async function uppyPage (t: Test, env: Record<string, string>) {
  await build({
    entryPoints: [fileURLToPath(new URL('uppy-client.ts', import.meta.url))],
    outfile: bundlePath,
    bundle: true,
    format: 'iife',
    globalName: 'filegateUppy',
    platform: 'browser',
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  })
  const pages = new Map<string, PageFile>([
    ['/uppy-client.js', { type: 'text/javascript; charset=utf-8', body: await readFile(bundlePath) }],
    ['/uppy.html', {
      type: 'text/html; charset=utf-8',
      body: '<!doctype html><meta charset="utf-8"><title>Uppy and filegate</title><h1>Uppy and filegate</h1><input type="file" id="file"><pre id="out"></pre><script src="/uppy-client.js"></script>',
    }],
  ])
  const pageOrigin = await startPageServer(t, pages)
  const filegate = await startFilegate(t, env, [pageOrigin])
  return { ...filegate, pageOrigin }
}

/** Runs Uppy in the page on the file chosen in #file, or (with `generate`) on a file of that many bytes made in the page. */
async function runUppy (page: Page, api: string, token: string, generate?: number): Promise<unknown> {
  return await page.evaluate(async ({ api, token, generate }) => {
    const client = (window as unknown as { filegateUppy: { uploadWithUppy: (api: string, token: string, file: File) => Promise<unknown> } }).filegateUppy
    const input = document.getElementById('file')
    let file = input instanceof HTMLInputElement ? input.files?.[0] : undefined
    if (generate !== undefined) {
      const bytes = new Uint8Array(generate)
      for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
      file = new File([bytes], 'uppy-big.bin', { type: 'application/octet-stream' })
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
      Object.assign(window, { generatedSha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') })
    }
    if (file === undefined) throw new Error('no file chosen')
    const result = await client.uploadWithUppy(api, token, file)
    const out = document.getElementById('out')
    if (out !== null) out.textContent = JSON.stringify(result, null, 2)
    return result
  }, { api, token, generate })
}

t.test('Uppy uploads a small file with a filegate grant, confirms it on upload-success, and it downloads intact', async (t) => {
  const { app, origin, pageOrigin } = await uppyPage(t, { MAX_FILE_SIZE: '2MiB' })
  const { page, pageErrors } = await openPage(t, browser, 'uppy')
  const content = randomBytes(1024 * 1024 + 7)
  await page.goto(`${pageOrigin}/uppy.html`)
  await page.setInputFiles('#file', { name: 'uppy-upload.bin', mimeType: 'application/octet-stream', buffer: content })
  const raw = await runUppy(page, origin, tokenFor('dave'))

  t.ok(Value.Check(UppyResult, raw), `Uppy's upload and the confirm answer: ${JSON.stringify(raw).slice(0, 500)}`)
  if (!Value.Check(UppyResult, raw)) return
  t.equal(raw.confirmStatus, 201, 'confirm recorded the file')
  t.equal(raw.record.key, raw.key, 'the key Uppy reported is the one filegate granted')
  t.equal(raw.record.filename, 'uppy-upload.bin')
  t.equal(raw.record.size, content.length)
  t.equal(Math.max(...raw.progress), content.length, 'Uppy reported progress up to the whole file')

  const download = await app.inject({ method: 'GET', url: `/files/download/${raw.record.id}`, headers: bearer('dave') })
  const bytes = Buffer.from(await (await fetch(download.json<{ download_url: string }>().download_url)).arrayBuffer())
  t.ok(bytes.equals(content), 'the file downloads intact')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})

t.test('Uppy with its default multipart threshold sends a 105 MiB file in parts through filegate, recorded with its owner', async (t) => {
  const size = 105 * 1024 * 1024
  const { app, origin, pageOrigin, s3Origin } = await uppyPage(t, { MAX_FILE_SIZE: '128MiB', RATE_LIMIT_ENABLED: 'false' })
  const { page, pageErrors } = await openPage(t, browser, 'uppy-multipart')
  const calls: string[] = []
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.origin === origin) calls.push(`${request.method()} ${url.pathname.replace(/[0-9a-f-]{36}/, '<id>')}`)
    if (url.origin === s3Origin) calls.push(`${request.method()} S3${url.searchParams.has('partNumber') ? ' part' : ''}`)
  })
  await page.goto(`${pageOrigin}/uppy.html`)
  const raw = await runUppy(page, origin, tokenFor('erin'), size)
  t.ok(Value.Check(UppyResult, raw), `Uppy's upload and the confirm answer: ${JSON.stringify(raw).slice(0, 500)}`)
  if (!Value.Check(UppyResult, raw)) return

  const own = calls.filter((c) => !c.startsWith('OPTIONS'))
  t.equal(own.filter((c) => c === 'PUT S3 part').length, 14, 'Uppy PUT 14 parts of 8 MiB straight to S3')
  t.ok(own.includes('POST /files/multipart') && own.includes('POST /files/multipart/<id>/s3/initiate') && own.includes('POST /files/multipart/<id>/s3/complete'),
    'filegate created the upload, and Uppy\'s create and complete calls went to filegate')
  t.notOk(own.some((c) => c === 'POST S3' || c === 'DELETE S3'), 'Uppy sent S3 no create, complete or abort of its own')
  t.equal(raw.record.size, size)
  t.equal(raw.key, raw.record.key, 'upload-success names the key filegate chose')
  t.equal(raw.location, `${origin}/files/${raw.record.id}`, 'and, as its location, the file\'s record')
  t.equal(raw.confirmStatus, 200, 'confirm on upload-success finds it already recorded by complete')
  const record = await app.inject({ method: 'GET', url: `/files/${raw.record.id}`, headers: bearer('erin') })
  t.match(record.json(), { uploaded_by: 'erin', size, filename: 'uppy-big.bin', etag: /-14$/ }, 'filegate recorded it with its owner')
  t.equal(Math.max(...raw.progress), size, 'Uppy reported progress up to the whole file')

  const download = await app.inject({ method: 'GET', url: `/files/download/${raw.record.id}`, headers: bearer('erin') })
  const bytes = new Uint8Array(await (await fetch(download.json<{ download_url: string }>().download_url)).arrayBuffer())
  t.equal(createHash('sha256').update(bytes).digest('hex'), await page.evaluate(() => (window as unknown as { generatedSha256: string }).generatedSha256), 'the file downloads intact')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
