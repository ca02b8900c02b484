// `npm run token -- <subject> [--expires 1h]`: prints a development JWT signed with the configured HS256 secret.
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { ConfigError, loadConfig, parseDurationSeconds } from '../config.js'

function fail (message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(1)
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { expires: { type: 'string', default: '1h' } } })
const subject = positionals[0]
if (subject === undefined || subject === '') fail('Usage: npm run token -- <subject> [--expires 1h]')

let config
try {
  config = loadConfig(process.env)
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error))
}
if (config.production) fail('Refusing to mint tokens with NODE_ENV=production: tokens come from your identity provider.')
if (config.jwt.secret === undefined) fail('JWT_PUBLIC_KEY or JWT_JWKS_URL is set: filegate only verifies such tokens and cannot sign them.')

let expiresSeconds: number
try {
  expiresSeconds = parseDurationSeconds(values.expires)
} catch {
  fail(`--expires must be a duration such as 90s, 15m, 1h or 7d (got "${values.expires}")`)
}
const maxLifetime = config.jwt.maxLifetimeSeconds
if (maxLifetime > 0 && expiresSeconds > maxLifetime) fail(`--expires ${values.expires} is longer than JWT_MAX_TOKEN_LIFETIME (${maxLifetime} s): filegate would refuse the token`)
const sign = createSigner({
  key: config.jwt.secret,
  algorithm: 'HS256',
  expiresIn: expiresSeconds * 1000,
  ...(config.jwt.issuer !== undefined && { iss: config.jwt.issuer }),
  ...(config.jwt.audience !== undefined && { aud: config.jwt.audience }),
})
process.stdout.write(`${sign({ [config.jwt.ownerClaim]: subject })}\n`)
