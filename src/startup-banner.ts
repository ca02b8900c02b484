// The few lines `npm start` prints for a person in development: where the API, its docs and the demo page are, and a token.

export interface BannerInput {
  readonly version: string
  /** Where the server listens, e.g. http://127.0.0.1:3000. */
  readonly origin: string
  readonly demoPage: boolean
  /** A development token for `dev-user`, when the fake development secret is in use. */
  readonly token?: string | undefined
  /** The embedded store's endpoint, when it runs. */
  readonly embeddedStore?: string | undefined
}

/** An address a browser can open: a wildcard host (0.0.0.0, ::) is reachable as 127.0.0.1. */
export function browsableOrigin (host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${name}:${port}`
}

export function startupBanner (input: BannerInput): string {
  const rows: Array<[string, string]> = [
    ['API', input.origin],
    ['Swagger UI', `${input.origin}/docs`],
  ]
  if (input.demoPage) rows.push(['Demo page', `${input.origin}/demo`])
  if (input.embeddedStore !== undefined) rows.push(['S3 store', `${input.embeddedStore} (embedded, development only)`])
  const lines = [`filegate ${input.version} is running`, '', ...rows.map(([name, value]) => `  ${name.padEnd(11)}${value}`)]
  if (input.token !== undefined) {
    lines.push('', 'Development token for user "dev-user" (valid 24 h; never valid in production):', '', `  ${input.token}`, '',
      `  curl -H "Authorization: Bearer ${input.token}" ${input.origin}/files`)
  }
  return `\n${lines.join('\n')}\n\n`
}
