// npm run build: bundles src/server.ts into dist/server.js, the file production runs, and the browser client into dist/client/.
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { bundleClient } from './client-bundle.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * One bundle loads in about half the time of thousands of ES module files (TypeBox alone is ~700) and holds less
 * memory. Left outside, and loaded from node_modules at run time: packages that read their own files
 * (@fastify/swagger-ui's static assets), sharp (a native addon with its libvips beside it) and the embedded store, a
 * dev dependency production never loads.
 */
export const EXTERNAL = ['@fastify/swagger-ui', 's3rver', 'esbuild', 'sharp'] as const

/**
 * The browser client beside the server (the demo page serves it from there), and with `declarations` its types under
 * client/types/ for frontends that import it.
 */
export async function buildClient (outdir: string, declarations: boolean): Promise<void> {
  mkdirSync(outdir, { recursive: true })
  for (const [name, contents] of await bundleClient()) writeFileSync(join(outdir, name), contents)
  if (!declarations) return
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'client'), '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--outDir', join(outdir, 'types')], { cwd: ROOT, encoding: 'utf8' })
  if (tsc.status !== 0) throw new Error(`the client's declarations failed:\n${tsc.stdout}${tsc.stderr}`)
}

export async function buildBundle (outdir: string, { declarations = false }: { declarations?: boolean } = {}): Promise<void> {
  rmSync(outdir, { recursive: true, force: true })
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/server.ts'],
    outdir,
    bundle: true,
    // Modules imported dynamically (the SDK's presigners, on their rare path) go into chunks of their own, loaded when used.
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...EXTERNAL],
    sourcemap: true,
    // Whitespace and syntax only: V8 compiles a third less source and holds less, and names stay readable in stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'linked',
    logLevel: 'warning',
    // Bundled CommonJS packages call require() for Node's own modules, which an ES module does not have.
    banner: { js: "import { createRequire as __filegateCreateRequire } from 'node:module'; const require = __filegateCreateRequire(import.meta.url);" },
  })
  await buildClient(join(outdir, 'client'), declarations)
}

if (import.meta.url === `file://${process.argv[1]}`) await buildBundle(process.argv[2] ?? 'dist', { declarations: true })
