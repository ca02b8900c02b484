// The example upload page (examples/browser) and the browser client it imports at /demo, with the limits it pre-checks, the features it shows (scanning, thumbnails) and, in development, a token to pre-fill.
import { access, readFile } from 'node:fs/promises'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import Type from 'typebox'
import { loadClientAssets, type ClientFile } from '../client-assets.js'
import type { Config } from '../config.js'
import { PACKAGE_ROOT } from '../package-info.js'
import { VARIANT_SOURCE_TYPES } from '../variants/variant-spec.js'

export interface DemoOptions {
  readonly uploads: Config['uploads']
  /** The claim that names a token's owner, which the page reads to say whose files it lists. */
  readonly ownerClaim: string
  readonly scanning: boolean
  readonly variants: Config['variants']
  /** Signs a token for the page to pre-fill; passed only in development with the fake development secret. */
  readonly developmentToken?: (() => string) | undefined
}

const pageDirectory = new URL('examples/browser/', PACKAGE_ROOT)

/** Every file the page is made of, and its type; nothing else under the folder is served. */
const PAGE_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'demo.js': 'text/javascript; charset=utf-8',
  'page.js': 'text/javascript; charset=utf-8',
  'my-files.js': 'text/javascript; charset=utf-8',
  'demo.css': 'text/css; charset=utf-8',
} as const

const DemoSettings = Type.Object({
  token: Type.Union([Type.String(), Type.Null()], { description: 'a development token to pre-fill, or null' }),
  max_file_size: Type.Integer({ description: 'MAX_FILE_SIZE in bytes, for the early size check' }),
  allowed_content_types: Type.Array(Type.String(), { description: 'ALLOWED_CONTENT_TYPES; empty allows any type' }),
  owner_claim: Type.String({ description: 'JWT_OWNER_CLAIM: the claim that names a token\'s owner' }),
  scanning: Type.Boolean({ description: 'whether files are scanned (SCANNER), so that the page shows and follows their scan status' }),
  variants: Type.Array(Type.String(), { description: 'the names of the renditions made (VARIANTS); the page shows `thumb`' }),
  variant_types: Type.Array(Type.String(), { description: 'the content types renditions are made of' }),
})

const demo: FastifyPluginAsyncTypebox<DemoOptions> = async (app, { uploads, ownerClaim, scanning, variants, developmentToken }) => {
  for (const name of Object.keys(PAGE_FILES)) {
    await access(new URL(name, pageDirectory)).catch(() => {
      throw new Error(`DEMO_PAGE is on but ${new URL(name, pageDirectory).pathname} is missing; set DEMO_PAGE=false or ship examples/browser`)
    })
  }

  const send = async (reply: FastifyReply, name: keyof typeof PAGE_FILES) => {
    const body = await readFile(new URL(name, pageDirectory))
    // The Content-Security-Policy (scripts from this origin only, connections to S3's) comes from the security-headers plugin.
    return await reply.headers({ 'content-type': PAGE_FILES[name], 'cache-control': 'no-cache' }).send(body)
  }

  // The browser client the page imports, and the worker it starts for part MD5s.
  const client = await loadClientAssets()
  const sendClient = async (reply: FastifyReply, name: ClientFile) =>
    await reply.headers({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }).send(Buffer.from(await client.get(name)))

  const hidden = { schema: { hide: true } }
  app.get('/demo', hidden, async (_request, reply) => await send(reply, 'index.html'))
  app.get('/demo/', hidden, async (_request, reply) => await send(reply, 'index.html'))
  for (const name of Object.keys(PAGE_FILES) as Array<keyof typeof PAGE_FILES>) {
    if (name !== 'index.html') app.get(`/demo/${name}`, hidden, async (_request, reply) => await send(reply, name))
  }
  app.get('/demo/filegate-client.js', hidden, async (_request, reply) => await sendClient(reply, 'filegate-client.js'))
  app.get('/demo/filegate-md5-worker.js', hidden, async (_request, reply) => await sendClient(reply, 'filegate-md5-worker.js'))

  app.get('/demo/settings.json', { schema: { hide: true, response: { 200: DemoSettings } } }, async (_request, reply) => {
    // A token must not linger in caches.
    void reply.header('cache-control', 'no-store')
    return {
      token: developmentToken?.() ?? null,
      max_file_size: uploads.maxFileSize,
      allowed_content_types: [...uploads.allowedContentTypes],
      owner_claim: ownerClaim,
      scanning,
      variants: variants.specs.map((spec) => spec.name),
      variant_types: variants.specs.length === 0 ? [] : [...VARIANT_SOURCE_TYPES],
    }
  })
}

export default demo
