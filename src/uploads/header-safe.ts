// Reversible ASCII encoding for S3 metadata values, which travel as HTTP headers.
// Printable ASCII other than % and space stays readable; everything else is percent-encoded UTF-8.

export function encodeHeaderValue (text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0
    out += code > 0x20 && code < 0x7f && char !== '%' ? char : encodeURIComponent(char)
  }
  return out
}

/** Undoes encodeHeaderValue; undefined when the value is not a valid encoding. */
export function decodeHeaderValue (text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}
