// The entry point: load the config, start the embedded store when needed, build the app, listen, close on signals.
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { buildApp, loggerOptions } from './app.js'
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig, usesEmbeddedStore, type Config } from './config.js'
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

const app = await buildApp(config, { logger })

closeWithGrace({ delay: 10_000, logger }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'closing after an error')
  else logger.info({ signal }, 'closing')
  await app.close()
  await embedded?.close()
})

await app.listen({ port: config.port, host: config.host })

if (!config.production && config.jwt.secret === DEVELOPMENT_JWT_SECRET) {
  const token = app.jwt.sign({ sub: 'dev-user' }, { expiresIn: '24h' })
  logger.info(`Development token for user "dev-user" (valid 24 h; never valid in production):\n\n  ${token}\n\n  curl -H "Authorization: Bearer ${token}" http://${config.host}:${config.port}/files\n`)
}
