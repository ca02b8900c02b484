// Reversible ASCII encoding for S3 metadata values, which travel as HTTP headers.
// Printable ASCII other than % and space stays readable; everything else is percent-encoded UTF-8.

/** Text encodeHeaderValue leaves as it is: printable ASCII (0x21–0x7e) but `%`. Most owners and names are. */
const UNCHANGED = /^[!-$&-~]*$/

export function encodeHeaderValue (text: string): string {
  // One scan instead of a string built a character at a time (every upload-url encodes the owner and the name).
  if (UNCHANGED.test(text)) return text
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
