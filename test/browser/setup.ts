// Browser test setup: filegate listening on 127.0.0.1 over a bucket whose CORS rule admits the pages, a server for pages on a third origin, and Chromium.
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PutBucketCorsCommand } from '@aws-sdk/client-s3'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { buildTestApp, testS3, type TestApp, type TestAppOptions } from '../helper.js'

/** Debian's Chromium, which `.ci/run` installs with apt. */
export const CHROMIUM_PATH = '/usr/bin/chromium'
export const SCREENSHOTS = fileURLToPath(new URL('../artifacts/screenshots/', import.meta.url))

export interface BrowserTestApp extends TestApp {
  /** Where filegate listens, e.g. http://127.0.0.1:41234. */
  readonly origin: string
  /** The origin of the test S3, which the grants name. */
  readonly s3Origin: string
}

function originOf (address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address')
  return `http://127.0.0.1:${address.port}`
}

/**
 * filegate on 127.0.0.1 at a free port, on a fresh bucket of the test S3 whose CORS rule lets filegate's own origin
 * and `pageOrigins` POST, PUT (multipart parts) and GET; filegate's CORS_ORIGINS lists `pageOrigins` too.
 */
export async function startFilegate (t: Test, env: Record<string, string>, pageOrigins: readonly string[] = [], options: TestAppOptions = {}): Promise<BrowserTestApp> {
  const test = await buildTestApp(t, { DEMO_PAGE: 'true', CORS_ORIGINS: pageOrigins.join(','), ...env }, options)
  await test.app.listen({ host: '127.0.0.1', port: 0 })
  const origin = originOf(test.app.server.address())
  await test.s3.send(new PutBucketCorsCommand({
    Bucket: test.bucket,
    CORSConfiguration: {
      CORSRules: [{
        AllowedOrigins: [origin, ...pageOrigins],
        AllowedMethods: ['GET', 'POST', 'PUT', 'HEAD'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 600,
      }],
    },
  }))
  return { ...test, origin, s3Origin: new URL(testS3().endpoint).origin }
}

export interface PageFile { readonly type: string, readonly body: string | Uint8Array }

/** A plain HTTP server for test pages on its own port: a third origin, neither filegate's nor S3's. `pages` may change later. */
export async function startPageServer (t: Test, pages: Map<string, PageFile>): Promise<string> {
  const server = createServer((request, response) => {
    const page = pages.get(new URL(request.url ?? '/', 'http://localhost').pathname)
    if (page === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    response.writeHead(200, { 'content-type': page.type, 'cache-control': 'no-store' }).end(page.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return originOf(server.address())
}

/** Chromium, headless, with a fresh temporary profile. */
export async function launchChromium (): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (as .ci/run does)`)
  }
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}

export interface TestPage {
  readonly page: Page
  /** Uncaught exceptions in the page, which a test expects to be none. */
  readonly pageErrors: string[]
}

/**
 * A page in a context of its own. When the test ends, a screenshot goes to test/artifacts/screenshots/<name>.png
 * and the page's console to <name>.console.txt, to look at when a test fails.
 */
export async function openPage (t: Test, browser: Browser, name: string): Promise<TestPage> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 800 } })
  const page = await context.newPage()
  page.setDefaultTimeout(30_000)
  const pageErrors: string[] = []
  const consoleLines: string[] = []
  page.on('pageerror', (error) => { pageErrors.push(error.message) })
  page.on('console', (message) => { consoleLines.push(`${message.type()}: ${message.text()}`) })
  page.on('requestfailed', (request) => { consoleLines.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? '?'})`) })
  t.teardown(async () => {
    await mkdir(SCREENSHOTS, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true }).catch((error: unknown) => { consoleLines.push(`screenshot failed: ${String(error)}`) })
    await writeFile(join(SCREENSHOTS, `${name}.console.txt`), `${[...consoleLines, ...pageErrors.map((e) => `uncaught: ${e}`)].join('\n')}\n`)
    await context.close()
  })
  return { page, pageErrors }
}
