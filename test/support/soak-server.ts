// The app in a process of its own for the soak: it listens as server.ts does and, when asked over IPC, collects
// garbage and reports its memory, so the soak compares what is retained rather than where V8's collector happens to be.
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

const collect = (globalThis as { gc?: () => void }).gc
if (collect === undefined || process.send === undefined) throw new Error('run with --expose-gc, by child_process.fork')
const send = process.send.bind(process)

const app = await buildApp(loadConfig(process.env))
await app.listen({ port: 0, host: '127.0.0.1' })
send({ type: 'ready', port: (app.server.address() as AddressInfo).port })

process.on('message', (message: unknown) => {
  if (message === 'measure') {
    // Twice: the first full collection may leave finalised objects for the second.
    collect()
    collect()
    const { rss, heapUsed } = process.memoryUsage()
    send({ type: 'memory', rss, heapUsed })
  } else if (message === 'close') {
    void app.close().then(() => process.disconnect())
  }
})
