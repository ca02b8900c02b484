// A real clamd for tests: started on loopback with a one-signature database, stopped with the test; and the EICAR string.
import { createHash } from 'node:crypto'

/** The EICAR test string, put together at run time so that no file in the repository carries it. */
export function eicar (): string {
  const reversed = '*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\\4[PA@%P!O5X'
  const text = [...reversed].reverse().join('')
  if (createHash('md5').update(text).digest('hex') !== EICAR_MD5) throw new Error('the EICAR string was put together wrongly')
  return text
}

/** The EICAR string's MD5 and length: the test database's one signature matches exactly these bytes. */
export const EICAR_MD5 = '44d88612fea8a8f36de82e1278abb02f'
export const EICAR_SIGNATURE = 'Filegate.Test.EICAR'
