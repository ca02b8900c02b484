// The entry point: load the config, start the embedded store when needed, build the app, listen, close on signals.
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { buildApp, loggerOptions } from './app.js'
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig, usesEmbeddedStore, type Config } from './config.js'
import { nodeVersionNotice, quietAwsSdkNodeWarning } from './node-version.js'
import { EMBEDDED_CREDENTIALS, startEmbeddedStore, type EmbeddedStore } from './storage/embedded-s3.js'

let config: Config
try {
  config = loadConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
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
  embedded = await startEmbeddedStore({
    bucket: config.s3.bucket,
    port: config.embedded.port,
    directory: config.embedded.dir,
    corsOrigins: [`http://localhost:${config.port}`, `http://127.0.0.1:${config.port}`],
  })
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

await app.listen({ port: config.port, host: config.host })

if (issuesDevelopmentTokens) {
  const token = signDevelopmentToken()
  // Printed for the developer, not logged: the log scrubber redacts every JWT, and this one is meant to be copied.
  process.stdout.write(`Development token for user "dev-user" (valid 24 h; never valid in production):\n\n  ${token}\n\n  curl -H "Authorization: Bearer ${token}" http://${config.host}:${config.port}/files\n\n`)
}
if (config.demoPage) logger.info(`Example upload page: http://${config.host}:${config.port}/demo`)
