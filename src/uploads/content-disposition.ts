// Content-Disposition per RFC 6266 and RFC 8187: an ASCII fallback name and the exact UTF-8 name.

/** Characters RFC 8187's attr-char allows unencoded. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+.^_`|~-]/

function encodeRfc8187 (text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte)
    out += byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Printable ASCII with quotes, backslashes, control and non-ASCII characters replaced by `_`. */
function asciiFallback (text: string): string {
  const folded = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
  const ascii = folded.replace(/[^\x20-\x7e]|["\\%]/g, '_').trim()
  return ascii === '' ? 'download' : ascii
}

export function contentDisposition (type: 'inline' | 'attachment', filename: string): string {
  return `${type}; filename="${asciiFallback(filename)}"; filename*=UTF-8''${encodeRfc8187(filename)}`
}
