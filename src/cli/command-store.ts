// The S3 store a command (cleanup, events) works on: the configured one, or in development the embedded one that runs inside `npm start`, started for the command when `npm start` is not running.
import { usesEmbeddedStore, type Config } from '../config.js'
import { EMBEDDED_CREDENTIALS, openEmbeddedStore } from '../storage/embedded-s3.js'

export interface CommandStore {
  readonly s3: Config['s3']
  /** Added to a failure's message: what to check when the embedded store found on the port did not answer. */
  readonly hint: string
  close (): Promise<void>
}

/** Says on stderr which embedded store the command uses; `fail` ends the command when none can be had. */
export async function openCommandStore (config: Config, command: string, fail: (message: string) => never): Promise<CommandStore> {
  if (!usesEmbeddedStore(config)) return { s3: config.s3, hint: '', close: async () => {} }
  const { port, dir } = config.embedded
  let embedded: Awaited<ReturnType<typeof openEmbeddedStore>>
  try {
    embedded = await openEmbeddedStore({ bucket: config.s3.bucket, port, directory: dir })
  } catch (error) {
    fail(`The embedded S3 store could not be started on 127.0.0.1:${port} (EMBEDDED_S3_PORT): ${error instanceof Error ? error.message : String(error)}`)
  }
  process.stderr.write(embedded.startedHere
    ? `The embedded S3 store runs inside \`npm start\`, which is not running: ${command} started it on ${embedded.endpoint} over ${dir} for this run. Set S3_ENDPOINT to use a real store.\n`
    : `Using the embedded S3 store that \`npm start\` runs on ${embedded.endpoint} (over ${dir}).\n`)
  return {
    s3: { ...config.s3, endpoint: embedded.endpoint, forcePathStyle: true, credentials: config.s3.credentials ?? EMBEDDED_CREDENTIALS },
    hint: embedded.startedHere
      ? ''
      : ` Something other than \`npm start\`'s embedded store may hold 127.0.0.1:${port}: stop it, or set EMBEDDED_S3_PORT to the port \`npm start\` uses.`,
    close: embedded.close,
  }
}
