// Tests the test tooling: the test command's failure summary (the failed checks of a TAP stream, with their subtests
// and details), and the ports tests give the processes they start.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import t from 'tap'
import { freePort } from './helper.js'
import { TapFailures } from './support/tap-failures.js'

// What tap 21 prints for a file with a failed check two subtests deep, a subtest that throws, and a passing check.
const FAILING_FILE = `TAP version 14
1..2
# Subtest: test/a.test.ts
    # Subtest: outer
        ok 1 - fine
        # Subtest: inner
            not ok 1 - one is two
              ---
              compare: ===
              source: |2
                  t.ok(true, 'fine')
                ------^
              diff: |
                -2
                +1
              ...
            
            1..1
        not ok 2 - inner # time=25.414ms
          ---
          at:
            lineNumber: 4
          ...
        
        1..2
    not ok 1 - outer # time=35.712ms
    # Subtest: throws
        not ok 1 - boom
          ---
          tapCaught: returnedPromiseRejection
          ...
        
        1..1
    not ok 2 - throws # time=8.156ms
    1..2
not ok 1 - test/a.test.ts # time=90.741ms
  ---
  exitCode: 1
  ...
`

// A file that died without failing a check of its own: the closing line is all there is.
const CRASHED_FILE = `# Subtest: test/b.test.ts
    # Subtest: fine
        ok 1 - fine
        1..1
    ok 1 - fine # time=1ms
not ok 2 - test/b.test.ts # time=30000ms
  ---
  signal: SIGTERM
  ...

# { total: 3, pass: 1, fail: 3 }
`

t.test('each failed check once, under its subtests, with its details', async (t) => {
  const failures = new TapFailures()
  // In pieces that split lines, as a child's output arrives.
  const stream = FAILING_FILE + CRASHED_FILE
  for (let at = 0; at < stream.length; at += 37) failures.push(stream.slice(at, at + 37))
  const report = failures.report()
  t.equal(failures.count, 3, 'the two failed checks and the crashed file')
  const blocks = report.split('\n\n')
  t.equal(blocks.length, 3)
  t.match(blocks[0], /^test\/a\.test\.ts › outer › inner › not ok 1 - one is two\n/, 'the check, under its subtests')
  t.match(blocks[0], /\n {2}compare: ===\n/, 'with its details')
  t.match(blocks[0], /\n {4}-2\n {4}\+1$/, 'the diff included, its indentation kept')
  t.notMatch(blocks[0], /lineNumber: 4|\.\.\./, 'not the details of the closing lines')
  t.equal(blocks[1], 'test/a.test.ts › throws › not ok 1 - boom\n  tapCaught: returnedPromiseRejection')
  t.equal(blocks[2], 'not ok 2 - test/b.test.ts # time=30000ms\n  signal: SIGTERM', 'a file that failed no check of its own')
})

t.test('a passing stream has nothing to report', async (t) => {
  const failures = new TapFailures()
  failures.push('# Subtest: test/c.test.ts\n    ok 1 - fine\n    1..1\nok 1 - test/c.test.ts # time=3ms\n# { total: 1, pass: 1 }')
  t.equal(failures.count, 0)
  t.equal(failures.report(), '')
})

t.test('a long detail is cut', async (t) => {
  const failures = new TapFailures()
  const lines = Array.from({ length: 100 }, (_, i) => `    line ${i}`).join('\n')
  failures.push(`# Subtest: test/d.test.ts\n    not ok 1 - long\n      ---\n${lines}\n      ...\n`)
  const report = failures.report().split('\n')
  t.equal(report.length, 1 + 40 + 1, 'the line, 40 lines of detail and a mark')
  t.equal(report.at(-1), '  …')
})

t.test('freePort gives listenable ports below the range outgoing connections take, none twice', async (t) => {
  const ephemeralFrom = Number(/^\s*(\d+)/.exec(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))?.[1])
  const ports = await Promise.all(Array.from({ length: 40 }, async () => await freePort()))
  t.equal(new Set(ports).size, ports.length, 'no port twice')
  t.ok(ports.every((port) => port >= 10_000 && port < ephemeralFrom), `all in 10000-${ephemeralFrom - 1}: ${ports.join(' ')}`)
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve))
  const address = server.address()
  t.equal(typeof address === 'object' ? address?.port : address, ports[0], 'a process can listen on it')
  await new Promise((resolve) => server.close(resolve))
})
