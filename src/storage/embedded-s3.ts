// The embedded development store: s3rver in-process on 127.0.0.1, for `npm start` with no S3 configured.
// It checks no POST policy and no signature; filegate's confirm re-checks everything, which is why it is usable at all.
import { mkdir } from 'node:fs/promises'

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

export async function startEmbeddedStore (options: { bucket: string, port: number, directory: string, corsOrigins: readonly string[] }): Promise<EmbeddedStore> {
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
