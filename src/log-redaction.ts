// Secrets out of logs: the fields pino redacts, and a last pass over every line for tokens, signatures, policies and keys.

const REDACTED = '[redacted]'

/** Fields that carry credentials wherever filegate (or a plugin) logs them; pino replaces their values. */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'authorization', '*.authorization',
  'fields.Policy', 'fields["X-Amz-Signature"]', 'fields["X-Amz-Credential"]', 'fields["X-Amz-Security-Token"]',
  '*.fields.Policy', '*.fields["X-Amz-Signature"]', '*.fields["X-Amz-Credential"]', '*.fields["X-Amz-Security-Token"]',
  'download_url', '*.download_url', 'err.SignatureProvided', 'err.AWSAccessKeyId', 'err.StringToSign', 'err.CanonicalRequest',
]

/*
 * Every pattern below runs on every log line, and request lines carry URLs that anyone can send, so each must run in
 * time linear in the line. Two rules make sure of it: a pattern starts only where its first character cannot continue
 * a run of the characters it repeats (a lookbehind), so no two attempts scan the same run; and what it repeats is
 * followed by a character outside that run's class, so a failed attempt backtracks over its own run only.
 * test/log-redaction.test.ts times each one on adversarial 16 KiB inputs.
 */

/** A JWT: three base64url parts whose first decodes to a JSON object (`{"` is `eyJ`, `{ ` is `eyA`, `{\n` is `ewo`). */
const JWT = /(?<![A-Za-z0-9_-])e[wy][A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g
/** Whatever follows Bearer, token or not. */
const BEARER = /(?<![A-Za-z0-9_-])(Bearer[ \t]+)[A-Za-z0-9._~+/=-]+/gi
/** A base64 JSON object (`{"` encodes as `eyJ`), which is what a POST policy is, as are a JWT's first two parts. */
const BASE64_JSON = /(?<![A-Za-z0-9+/_-])eyJ[A-Za-z0-9+/_-]{30,}={0,2}/g
/**
 * Signed-request parameters and S3's error fields, as query parameters (`X-Amz-Signature=…`), JSON members
 * (`"Policy":"…"`, also escaped inside a logged string) or header parameters (`Credential=…, Signature=…`);
 * not the tail of a longer name (`content-security-policy`). The values are long (a signature is 64 hex digits, an
 * access key 16 characters or more), so a word in prose after "signature:" is not one.
 */
const SIGNED_PARAMETER = /(?<![\w-])(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|SignatureProvided|Signature|AWSAccessKeyId|Credential|Policy)((?:\\{0,8}["'])?[ \t]{0,8}[:=][ \t]{0,8}(?:\\{0,8}["'])?)[A-Za-z0-9+/=_.%~-]{16,}/gi
/** An AWS access key id (long-term AKIA, temporary ASIA), which the SDK's own credential chain may supply unseen by the config. */
const ACCESS_KEY_ID = /(?<![A-Za-z0-9])A[SK]IA[A-Z0-9]{16}(?![A-Za-z0-9])/g
/** Multi-line strings S3 returns with a signature error, whole. */
const SIGNING_DETAIL = /("(?:StringToSign|CanonicalRequest|StringToSignBytes|CanonicalRequestBytes)"[ \t]{0,8}:[ \t]{0,8})"(?:[^"\\]|\\.)*"/g

/*
 * The patterns find what could be a secret; these say whether it is one, so that prose passes through (issue 15).
 * Each looks at one match only, so the scrub stays linear.
 */
/** A JWT's header is a JSON object: `{"`, `{ "` or `{\n "` once decoded; `eyewitness.eyesight.eyelid` decodes to `{'…`. */
const isJwt = (match: string): boolean => /^\{\s*"/.test(Buffer.from(match.slice(0, match.indexOf('.')), 'base64url').toString('latin1'))
/** Signatures (hex), policies and tokens (base64) and credentials (key/date/…) all hold a digit; `expired-and-not-renewed` does not. */
const hasDigit = (value: string): boolean => /[0-9]/.test(value)
/** `Bearer token required`: a short lowercase word after Bearer is English, not a credential. */
const isWord = (value: string): boolean => /^[a-z]{1,16}$/.test(value)

/**
 * What every pattern above needs somewhere in a line (each starts with `e` then `w` or `y`, or holds one of these
 * names): a line without any is left as it is after one scan instead of six, which is most request lines.
 */
const MAY_HOLD_SECRET = /\be[wy]|bearer|signature|credential|security-token|awsaccesskeyid|policy|stringtosign|canonicalrequest|a[sk]ia/i

/**
 * Returns pino's streamWrite hook: every log line, already JSON, with secrets replaced by `[redacted]`. The `secrets`
 * (the S3 keys, the JWT secret) are replaced wherever they appear; patterns catch tokens and signed-URL parts.
 * Each replacement stays inside a JSON string, so the line stays valid JSON.
 */
export function createLogScrubber (secrets: ReadonlyArray<string | undefined>): (line: string) => string {
  const literals = [...new Set(secrets.flatMap((secret) => secret === undefined || secret.length < 4
    ? []
    : [JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]))]
    // Longer first, so a secret containing another is replaced whole.
    .sort((a, b) => b.length - a.length)
  return (line) => {
    let out = line
    for (const literal of literals) if (out.includes(literal)) out = out.split(literal).join(REDACTED)
    if (!MAY_HOLD_SECRET.test(out)) return out
    return out
      .replace(SIGNING_DETAIL, `$1"${REDACTED}"`)
      .replace(BEARER, (match, bearer: string) => isWord(match.slice(bearer.length)) ? match : `${bearer}${REDACTED}`)
      .replace(JWT, (match) => isJwt(match) ? REDACTED : match)
      .replace(SIGNED_PARAMETER, (match, name: string, separator: string) => hasDigit(match.slice(name.length + separator.length)) ? `${name}${separator}${REDACTED}` : match)
      .replace(BASE64_JSON, REDACTED)
      .replace(ACCESS_KEY_ID, REDACTED)
  }
}
