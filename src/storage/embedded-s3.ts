// The embedded development store: s3rver in-process on 127.0.0.1, for `npm start` with no S3 configured.
// It checks no POST policy and no signature; filegate's confirm re-checks everything, which is why it is usable at all.
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'

/** s3rver's fixed development credentials. */
export const EMBEDDED_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const

const corsFor = (origins: readonly string[]) => `<CORSConfiguration>${origins.map((origin) => `
  <CORSRule>
    <AllowedOrigin>${origin}</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>`).join('')}
</CORSConfiguration>`

export interface EmbeddedStore {
  readonly endpoint: string
  close (): Promise<void>
}

/**
 * Rejects with the listen error (EADDRINUSE, EACCES) when the port cannot be had. s3rver listens without an error
 * listener, so its own failure would be an uncaught 'error' event that kills the process with a stack.
 */
async function checkPortFree (host: string, port: number): Promise<void> {
  if (port === 0) return
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(port, host, () => probe.close(() => resolve()))
  })
}

export async function startEmbeddedStore (options: { bucket: string, port: number, directory: string, corsOrigins: readonly string[] }): Promise<EmbeddedStore> {
  await checkPortFree('127.0.0.1', options.port)
  // Imported here so that production installs, which omit dev dependencies, never load it.
  const { default: S3rver } = await import('s3rver')
  await mkdir(options.directory, { recursive: true })
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket, configs: options.corsOrigins.length > 0 ? [corsFor(options.corsOrigins)] : [] }],
  })
  const { port } = await server.run()
  return { endpoint: `http://127.0.0.1:${port}`, close: async () => { await server.close() } }
}

export interface OpenedEmbeddedStore extends EmbeddedStore {
  /** True when this process started the store; false when it found one (the one `npm start` runs) on the port. */
  readonly startedHere: boolean
}

/**
 * For a command run beside `npm start` (cleanup): the embedded store runs inside `npm start`, so when its port is
 * taken that is the store to use; when the port is free, the command starts the store over the same directory itself.
 */
export async function openEmbeddedStore (options: { bucket: string, port: number, directory: string }): Promise<OpenedEmbeddedStore> {
  try {
    return { ...await startEmbeddedStore({ ...options, corsOrigins: [] }), startedHere: true }
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error
    return { endpoint: `http://127.0.0.1:${options.port}`, startedHere: false, close: async () => {} }
  }
}
