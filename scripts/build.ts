// npm run build: bundles src/server.ts and what it imports into dist/server.js, the file production runs.
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * One bundle loads in about half the time of thousands of ES module files (TypeBox alone is ~700) and holds less
 * memory. Left outside, and loaded from node_modules at run time: packages that read their own files
 * (@fastify/swagger-ui's static assets) and the embedded store, a dev dependency production never loads.
 */
export const EXTERNAL = ['@fastify/swagger-ui', 's3rver'] as const

export async function buildBundle (outdir: string): Promise<void> {
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
}

if (import.meta.url === `file://${process.argv[1]}`) await buildBundle(process.argv[2] ?? 'dist')
