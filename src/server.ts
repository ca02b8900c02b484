// The entry point: load the config, start the embedded store when needed, build the app, listen, close on signals.
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { buildApp, loggerOptions } from './app.js'
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig, usesEmbeddedStore, type Config } from './config.js'
import { nodeVersionNotice, quietAwsSdkNodeWarning } from './node-version.js'
import { PACKAGE_VERSION } from './package-info.js'
import { browsableOrigin, startupBanner } from './startup-banner.js'
import { listenFailureMessage, type Listener } from './startup-errors.js'
import { EMBEDDED_CREDENTIALS, startEmbeddedStore, type EmbeddedStore } from './storage/embedded-s3.js'

let config: Config
try {
  config = loadConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

/** Stops with one line when `error` is a listen failure the configuration can fix; anything else goes on as it was. */
function exitIfListenFailure (error: unknown, listener: Listener): void {
  const message = listenFailureMessage(error, listener)
  if (message === undefined) return
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

const logger = pino(loggerOptions(config))
const nodeNotice = nodeVersionNotice(process.version)
if (nodeNotice !== undefined) {
  logger.warn(nodeNotice)
  quietAwsSdkNodeWarning(process.env)
}
let embedded: EmbeddedStore | undefined
if (usesEmbeddedStore(config)) {
  try {
    embedded = await startEmbeddedStore({
      bucket: config.s3.bucket,
      port: config.embedded.port,
      directory: config.embedded.dir,
      corsOrigins: [`http://localhost:${config.port}`, `http://127.0.0.1:${config.port}`],
    })
  } catch (error) {
    exitIfListenFailure(error, { name: 'The embedded S3 store', host: '127.0.0.1', port: config.embedded.port, variable: 'EMBEDDED_S3_PORT' })
    throw error
  }
  config = { ...config, s3: { ...config.s3, endpoint: embedded.endpoint, forcePathStyle: true, credentials: config.s3.credentials ?? EMBEDDED_CREDENTIALS } }
  logger.warn({ endpoint: embedded.endpoint, directory: config.embedded.dir },
    'Using the embedded development S3 store (s3rver). It enforces NO upload policy and checks no signature: size and type limits are enforced only by filegate\'s confirm. Set S3_ENDPOINT to use a real store.')
}

// Only with the embedded store and the fake development secret: printed below, and pre-filled by the demo page.
const issuesDevelopmentTokens = embedded !== undefined && !config.production && config.jwt.secret === DEVELOPMENT_JWT_SECRET
const signDevelopmentToken = (): string => app.jwt.sign({ sub: 'dev-user' }, { expiresIn: '24h' })
const app = await buildApp(config, { logger, ...(issuesDevelopmentTokens && { developmentToken: signDevelopmentToken }) })

// In-flight requests get this long to finish (each S3 call is bounded by S3_TIMEOUT_MS); then the process exits 1.
const SHUTDOWN_GRACE_MS = 10_000

closeWithGrace({ delay: SHUTDOWN_GRACE_MS, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'closing after an error')
  else logger.info({ signal }, 'closing')
  // Fastify closes idle keep-alive connections once, as closing starts; one whose request finishes later would stay
  // open until keepAliveTimeout and hold the close. Close each as soon as it turns idle.
  const reaper = setInterval(() => app.server.closeIdleConnections(), 50)
  try {
    await app.close()
  } finally {
    clearInterval(reaper)
  }
  await embedded?.close()
})

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  await embedded?.close()
  exitIfListenFailure(error, { name: 'filegate', host: config.host, port: config.port, variable: 'PORT' })
  throw error
}

const address = app.server.address()
const origin = browsableOrigin(config.host, typeof address === 'object' && address !== null ? address.port : config.port)
if (!config.production) {
  // Printed for the developer, not logged: the log scrubber redacts every JWT, and this token is meant to be copied.
  process.stdout.write(startupBanner({
    version: PACKAGE_VERSION,
    origin,
    demoPage: config.demoPage,
    token: issuesDevelopmentTokens ? signDevelopmentToken() : undefined,
    embeddedStore: embedded?.endpoint,
  }))
} else {
  logger.info({ docs: `${origin}/docs` }, 'filegate is running')
}
