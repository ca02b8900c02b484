// Owners in key paths: base64url of the UTF-8 subject, reversible and safe for any subject string.

export function encodeOwner (owner: string): string {
  return Buffer.from(owner, 'utf8').toString('base64url')
}

export function decodeOwner (encoded: string): string {
  return Buffer.from(encoded, 'base64url').toString('utf8')
}
