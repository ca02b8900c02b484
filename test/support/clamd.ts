// A real clamd for tests: started on loopback with a one-signature database, stopped with the test; and the EICAR string.
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { pingClamd } from '../../src/scanning/clamd-client.js'
import { freePort } from '../helper.js'
import { spawnTestChild, stopTestChild, waitUntilAnswering } from './child-process.js'

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

export interface TestClamd {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Stops clamd (SIGTERM) and waits until it has exited: connections are refused. */
  stop (): Promise<void>
  /** Starts it again on the same port and waits until it answers PING. */
  start (): Promise<void>
}

/** How long clamd may take to load its one-signature database and answer PING (it takes about a second). */
const START_DEADLINE_MS = 30_000

/**
 * Debian's clamd for one test: on 127.0.0.1 and a free port, with a database directory holding only `test.hdb` (the
 * EICAR string's hash, named Filegate.Test.EICAR), so it starts in about a second; stopped when the test ends.
 */
export async function startTestClamd (t: Test, options: { streamMaxLength?: string } = {}): Promise<TestClamd> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'filegate-clamd-'))
  await mkdir(join(dir, 'db'))
  await writeFile(join(dir, 'db', 'test.hdb'), `${EICAR_MD5}:68:${EICAR_SIGNATURE}\n`)
  const conf = join(dir, 'clamd.conf')
  await writeFile(conf, [
    `TCPSocket ${port}`, 'TCPAddr 127.0.0.1', `DatabaseDirectory ${join(dir, 'db')}`, 'Foreground yes', `LogFile ${join(dir, 'clamd.log')}`,
    `StreamMaxLength ${options.streamMaxLength ?? '25M'}`, 'SelfCheck 0', 'MaxThreads 4', '',
  ].join('\n'))
  let child: ChildProcess | undefined

  async function start (): Promise<void> {
    const started = spawnTestChild('clamd', ['--foreground', `--config-file=${conf}`])
    child = started.child
    await waitUntilAnswering(started, `clamd on port ${port}`, async () => await pingClamd({ host: '127.0.0.1', port }, 1000), { deadlineMs: START_DEADLINE_MS })
  }

  async function stop (): Promise<void> {
    const running = child
    child = undefined
    await stopTestChild(running)
  }

  await start()
  t.teardown(async () => {
    await stop()
    await rm(dir, { recursive: true, force: true })
  })
  return { host: '127.0.0.1', port, stop, start }
}
