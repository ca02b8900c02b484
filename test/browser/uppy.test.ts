// Uppy (@uppy/core with @uppy/aws-s3, bundled with esbuild at test time) uploads through filegate's grant from a third origin in Chromium; the file downloads intact.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import t from 'tap'
import Type from 'typebox'
import { Value } from 'typebox/value'
import { bearer, tokenFor } from '../helper.js'
import { launchChromium, openPage, startFilegate, startPageServer, type PageFile } from './setup.js'

const bundlePath = fileURLToPath(new URL('../artifacts/uppy/uppy-client.js', import.meta.url))
const browser = await launchChromium()
t.teardown(() => browser.close())

const UppyResult = Type.Object({
  key: Type.String(),
  confirmStatus: Type.Integer(),
  progress: Type.Array(Type.Number()),
  record: Type.Object({ id: Type.String(), key: Type.String(), filename: Type.String(), content_type: Type.String(), size: Type.Integer() }),
})

t.test('Uppy uploads a file with a filegate grant, confirms it on upload-success, and it downloads intact', async (t) => {
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
  const { app, origin } = await startFilegate(t, { MAX_FILE_SIZE: '2MiB' }, [pageOrigin])

  const { page, pageErrors } = await openPage(t, browser, 'uppy')
  const content = randomBytes(1024 * 1024 + 7)
  await page.goto(`${pageOrigin}/uppy.html`)
  await page.setInputFiles('#file', { name: 'uppy-upload.bin', mimeType: 'application/octet-stream', buffer: content })
  const raw: unknown = await page.evaluate(async ({ api, token }) => {
    const client = (window as unknown as { filegateUppy: { uploadWithUppy: (api: string, token: string, file: File) => Promise<unknown> } }).filegateUppy
    const input = document.getElementById('file')
    const file = input instanceof HTMLInputElement ? input.files?.[0] : undefined
    if (file === undefined) throw new Error('no file chosen')
    const result = await client.uploadWithUppy(api, token, file)
    const out = document.getElementById('out')
    if (out !== null) out.textContent = JSON.stringify(result, null, 2)
    return result
  }, { api: origin, token: tokenFor('dave') })

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
