// The container files checked without a Docker engine: compose and Dockerfile agree with the config and the app, and the built entry starts and stops as the image runs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { freePort, TEST_JWT_SECRET } from './helper.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (file: string) => readFileSync(join(root, file), 'utf8')

// ---- narrowing of parsed YAML, which arrives untyped ----

type Mapping = Record<string, unknown>

function mapping (value: unknown, what: string): Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be a mapping`)
  return value as Mapping
}

function list (value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be a list`)
  return value
}

function text (value: unknown, what: string): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new Error(`${what} must be a string`)
}

/** A service's environment as strings, from either the mapping or the `KEY=value` list form. */
function environmentOf (service: Mapping, what: string): Record<string, string> {
  const raw = service.environment
  const env: Record<string, string> = {}
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const [name = '', ...rest] = text(entry, `${what}.environment entry`).split('=')
      env[name] = rest.join('=')
    }
  } else {
    for (const [name, value] of Object.entries(mapping(raw, `${what}.environment`))) env[name] = text(value, `${what}.environment.${name}`)
  }
  return env
}

/** The container ports a service publishes, from the short `"host:container"` or the long form. */
function publishedPorts (service: Mapping, what: string): Array<{ host: number, container: number }> {
  return list(service.ports, `${what}.ports`).map((entry) => {
    if (typeof entry === 'object' && entry !== null) {
      const long = mapping(entry, `${what}.ports entry`)
      return { host: Number(text(long.published, 'published')), container: Number(text(long.target, 'target')) }
    }
    const parts = text(entry, `${what}.ports entry`).replace(/\/(tcp|udp)$/, '').split(':')
    const container = Number(parts.at(-1))
    return { host: Number(parts.at(-2) ?? container), container }
  })
}

/** Every URL path that a healthcheck command line names, e.g. `/health`. */
function healthcheckPaths (command: string): string[] {
  return [...command.matchAll(/https?:\/\/[^/\s'"`]+(\/[A-Za-z0-9/_.-]*)/g)].map((m) => m[1] ?? '/')
}

function healthcheckCommand (service: Mapping, what: string): string[] {
  const test = mapping(service.healthcheck, `${what}.healthcheck`).test
  if (typeof test === 'string') return ['CMD-SHELL', test]
  return list(test, `${what}.healthcheck.test`).map((part) => text(part, `${what}.healthcheck.test`))
}

// ---- the Dockerfile, read the way the builder reads it ----

interface Instruction { readonly keyword: string, readonly args: string }

function dockerfileInstructions (source: string): Instruction[] {
  const joined = source.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').replace(/\\\n/g, ' ')
  return joined.split('\n').map((line) => line.trim()).filter((line) => line !== '').map((line) => {
    const match = /^(\S+)\s*(.*)$/.exec(line)
    return { keyword: (match?.[1] ?? '').toUpperCase(), args: (match?.[2] ?? '').trim() }
  })
}

/** The JSON (exec) form of CMD or HEALTHCHECK CMD, or undefined for the shell form. */
function execForm (args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined
  const parsed: unknown = JSON.parse(args)
  return list(parsed, 'exec form').map((part) => text(part, 'exec form part'))
}

/** `ENV A=1 B=2` (and the old `ENV A 1`) as a map. */
function envInstruction (args: string): Record<string, string> {
  const env: Record<string, string> = {}
  if (!args.includes('=')) {
    const [name = '', ...value] = args.split(/\s+/)
    env[name] = value.join(' ')
    return env
  }
  for (const pair of args.match(/[^\s=]+=("[^"]*"|\S*)/g) ?? []) {
    const at = pair.indexOf('=')
    env[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"(.*)"$/, '$1')
  }
  return env
}

const dockerfile = dockerfileInstructions(read('Dockerfile'))
const lastFrom = dockerfile.map((i) => i.keyword).lastIndexOf('FROM')
const finalStage = dockerfile.slice(lastFrom + 1)
const finalOf = (keyword: string) => finalStage.filter((i) => i.keyword === keyword)
const dockerEnv = Object.assign({}, ...finalOf('ENV').map((i) => envInstruction(i.args))) as Record<string, string>
const cmd = execForm(finalOf('CMD').at(-1)?.args ?? '')
const dockerHealthcheck = finalOf('HEALTHCHECK').at(-1)?.args ?? ''
const dockerHealthcheckCommand = execForm(dockerHealthcheck.replace(/^.*?\bCMD\s+/, '')) ?? []

const compose = mapping(parseYaml(read('docker-compose.yml')), 'docker-compose.yml')
const services = mapping(compose.services, 'services')
const service = (name: string) => mapping(services[name], `services.${name}`)

t.test('the filegate service configures a production app that the compose network can reach', async (t) => {
  const filegate = service('filegate')
  const env = environmentOf(filegate, 'filegate')
  const config = loadConfig(env)
  t.equal(config.production, true, 'NODE_ENV is production')
  t.equal(config.host, '0.0.0.0', 'it listens on every interface, so the published port reaches it')
  t.ok(publishedPorts(filegate, 'filegate').some((p) => p.container === config.port), `a published port targets PORT ${config.port}`)
  t.equal(text(filegate.build, 'filegate.build'), '.', 'the image is built from this directory')

  const endpoint = new URL(config.s3.endpoint ?? '')
  t.ok(Object.hasOwn(services, endpoint.hostname), `S3_ENDPOINT names a compose service (${endpoint.hostname})`)
  const minio = service(endpoint.hostname)
  const minioPort = Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80))
  const minioPublished = publishedPorts(minio, endpoint.hostname).find((p) => p.container === minioPort)
  t.ok(minioPublished, `the S3 port ${minioPort} is published`)

  t.ok(config.s3.publicEndpoint, 'S3_PUBLIC_ENDPOINT is set, so signed URLs name a host browsers can reach')
  const publicEndpoint = new URL(config.s3.publicEndpoint ?? '')
  t.ok(['localhost', '127.0.0.1'].includes(publicEndpoint.hostname), 'the public S3 endpoint is on the host')
  t.equal(Number(publicEndpoint.port), minioPublished?.host, 'the public S3 endpoint uses the published S3 port')
  t.equal(config.s3.forcePathStyle, true, 'MinIO is addressed path-style')

  const minioEnv = environmentOf(minio, 'minio')
  t.same(config.s3.credentials, { accessKeyId: minioEnv.MINIO_ROOT_USER, secretAccessKey: minioEnv.MINIO_ROOT_PASSWORD }, 'filegate uses the MinIO credentials')
  const corsOrigins = (minioEnv.MINIO_API_CORS_ALLOW_ORIGIN ?? '').split(',').map((o) => o.trim())
  const filegateHostPort = publishedPorts(filegate, 'filegate').find((p) => p.container === config.port)?.host
  for (const origin of [`http://localhost:${filegateHostPort}`, `http://127.0.0.1:${filegateHostPort}`]) {
    t.ok(corsOrigins.includes(origin), `MinIO allows browser uploads from ${origin}`)
  }

  const init = service('minio-init')
  t.match(JSON.stringify(init.command), new RegExp(`mc mb --ignore-existing \\w+/${config.s3.bucket}\\b`), 'minio-init creates S3_BUCKET')
  t.equal(text(init.restart, 'minio-init.restart'), 'no', 'minio-init runs once')
  const dependsOn = mapping(filegate.depends_on, 'filegate.depends_on')
  t.equal(mapping(dependsOn[endpoint.hostname], 'depends_on.minio').condition, 'service_healthy', 'filegate waits for a healthy MinIO')
  t.equal(mapping(dependsOn['minio-init'], 'depends_on.minio-init').condition, 'service_completed_successfully', 'filegate waits for the bucket')
  t.equal(mapping(init.depends_on, 'minio-init.depends_on')[endpoint.hostname] !== undefined, true, 'minio-init waits for MinIO')
  t.ok(minio.healthcheck, 'MinIO has a healthcheck, which service_healthy needs')
  t.ok(list(minio.volumes, 'minio.volumes').some((v) => text(v, 'volume').startsWith('minio-data:')), 'MinIO keeps its data in a named volume')
  t.ok(Object.hasOwn(mapping(compose.volumes, 'volumes'), 'minio-data'), 'the minio-data volume is declared')
})

t.test('the MinIO images are pinned to a release tag', async (t) => {
  for (const name of ['minio', 'minio-init']) {
    const image = text(service(name).image, `${name}.image`)
    t.match(image, /:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z/, `${name} (${image}) is pinned to a release`)
    t.notMatch(image, /:latest$|^[^:]+$/, `${name} is not latest`)
    // Docker Hub removed minio/minio and minio/mc; quay.io still serves the same releases.
    t.notMatch(image, /^(docker\.io\/)?minio\//, `${name} is not pulled from Docker Hub`)
  }
})

t.test('the healthcheck paths are routes of the app', async (t) => {
  const config = loadConfig({ NODE_ENV: 'test', S3_ENDPOINT: 'http://127.0.0.1:1', S3_FORCE_PATH_STYLE: 'true', S3_TIMEOUT_MS: '1000', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET })
  const app = await buildApp(config, { logger: false })
  t.teardown(() => app.close())

  const composePaths = healthcheckPaths(healthcheckCommand(service('filegate'), 'filegate').join(' '))
  const dockerPaths = healthcheckPaths(dockerHealthcheckCommand.join(' '))
  t.same(composePaths, ['/health'], 'the compose healthcheck asks /health')
  t.same(dockerPaths, ['/health'], 'the Dockerfile healthcheck asks /health')
  for (const path of new Set([...composePaths, ...dockerPaths])) {
    const response = await app.inject({ method: 'GET', url: path })
    t.equal(response.statusCode, 200, `GET ${path} answers 200 without S3`)
  }
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.ok([503, 504].includes(ready.statusCode), `GET /ready exists and reports the missing store (got ${ready.statusCode})`)
})

t.test('the Dockerfile builds on pinned Node 22 slim and runs node as a non-root user', async (t) => {
  const froms = dockerfile.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0] ?? '')
  t.ok(froms.length >= 2, 'the build is multi-stage')
  for (const image of froms) t.match(image, /^node:22\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/, `${image} is node 22 slim with a full version`)

  t.ok(cmd, 'CMD is in exec form, so node is PID 1 and receives SIGTERM')
  t.equal(cmd?.[0], 'node', 'CMD runs node itself, not npm')
  t.ok(cmd?.slice(1, -1).every((arg) => arg.startsWith('--')), 'CMD is ["node", <node options>…, <file>]')
  const user = finalOf('USER').at(-1)?.args ?? 'root'
  t.notMatch(user, /^(root|0)(:|$)/, `the final stage runs as ${user}, not root`)
  t.equal(dockerEnv.NODE_ENV, 'production', 'NODE_ENV is production')
  t.equal(dockerEnv.HOST, '0.0.0.0', 'HOST is every interface')
  t.same(finalOf('EXPOSE').map((i) => i.args), [dockerEnv.PORT], 'EXPOSE is PORT')
  t.ok(dockerHealthcheckCommand.length > 0, 'HEALTHCHECK is in exec form')
  t.equal(dockerHealthcheckCommand[0], 'node', 'the healthcheck uses node (slim images have no curl)')
  t.match(dockerHealthcheckCommand.join(' '), `127.0.0.1:${dockerEnv.PORT}/health`, 'the healthcheck asks this container\'s PORT')
  t.ok(finalOf('RUN').some((i) => /npm ci\b.*--omit=dev/.test(i.args)), 'the final stage installs production dependencies only')
})

t.test('.dockerignore keeps local state, tests and secrets out of the build context', async (t) => {
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  for (const entry of ['.git', 'node_modules', 'test', '.data', '.env', '.env.*', 'dist']) {
    t.ok(ignored.includes(entry) || ignored.includes(`**/${entry}`), `${entry} is ignored`)
  }
  t.ok(ignored.includes('!.env.example'), '.env.example stays in')
  const copied = dockerfile.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
  for (const source of copied) {
    t.notOk(ignored.some((entry) => entry === source.replace(/\/$/, '') || entry === `**/${source}`), `${source}, which the Dockerfile copies, is in the context`)
  }
})

/** The packages that a module and the relative modules it imports load statically. */
function staticPackages (entry: string): Set<string> {
  const packages = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    // `import x from '…'`, `import '…'` and `export … from '…'`, also as the bundle writes them (`import{x}from"…"`,
    // several on a line); a dynamic import() is deliberately not followed.
    for (const match of source.matchAll(/(?:^|[;\s{}])(?:import|export)\s*(?:[^'"]*?\bfrom\s*)?['"]([^'"]+)['"]/gm)) {
      const specifier = match[1] ?? ''
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier))
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        packages.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
      }
    }
  }
  visit(entry)
  return packages
}

t.test('the built entry runs with production dependencies, answers its healthcheck and stops on SIGTERM', async (t) => {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' })
  t.equal(build.status, 0, `npm run build succeeds${build.status === 0 ? '' : `:\n${build.stdout}${build.stderr}`}`)
  const entry = join(root, cmd?.at(-1) ?? 'missing-cmd')
  t.ok(existsSync(entry), `the CMD file ${cmd?.at(-1)} is built`)
  if (!existsSync(entry)) return

  const manifest = mapping(JSON.parse(read('package.json')), 'package.json')
  const dependencies = Object.keys(mapping(manifest.dependencies ?? {}, 'dependencies'))
  for (const name of staticPackages(entry)) t.ok(dependencies.includes(name), `${name}, loaded at start-up, is a production dependency`)

  const port = await freePort()
  const server: ChildProcess = spawn(process.execPath, [...cmd?.slice(1, -1) ?? [], entry], {
    cwd: root,
    env: {
      NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), S3_ENDPOINT: 'http://127.0.0.1:1', S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', JWT_SECRET: 'container-test-secret-0123456789-abcdefghij', LOG_LEVEL: 'warn', PATH: process.env.PATH,
      // Off by default in production; on here to prove that the built code finds the page where the image puts it.
      DEMO_PAGE: 'true',
      // A busy CI machine can delay a fresh process's event loop past the shedding threshold; shedding is not what this test is about.
      LOAD_SHED_MAX_EVENT_LOOP_DELAY: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  server.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  server.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    server.once('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(() => { if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL') })

  const deadline = Date.now() + 20_000
  let healthy = false
  while (!healthy && Date.now() < deadline && server.exitCode === null) {
    healthy = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false)
    if (!healthy) await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.ok(healthy, `GET /health answers 200 within 20 s${healthy ? '' : `; output:\n${output}`}`)
  const finalCopies = finalOf('COPY').map((i) => i.args)
  t.ok(finalCopies.includes('examples ./examples'), 'the final stage copies the example page beside dist/')
  t.equal((await fetch(`http://127.0.0.1:${port}/demo`).catch(() => undefined))?.status, 200, 'with DEMO_PAGE=true the built entry serves /demo')
  for (const name of ['filegate-client.js', 'filegate-md5-worker.js']) {
    const served = await fetch(`http://127.0.0.1:${port}/demo/${name}`).then(async (r) => Buffer.from(await r.arrayBuffer()), () => Buffer.alloc(0))
    t.ok(served.length > 0 && served.equals(readFileSync(join(dirname(entry), 'client', name))), `and the browser client's ${name} that npm run build wrote beside it`)
  }

  // The healthcheck commands themselves, pointed at this port, must pass too.
  const checks = { Dockerfile: dockerHealthcheckCommand, 'docker-compose.yml': healthcheckCommand(service('filegate'), 'filegate').slice(1) }
  for (const [file, argv] of Object.entries(checks)) {
    const [command = 'node', ...args] = argv.map((part) => part.replace(`127.0.0.1:${dockerEnv.PORT}`, `127.0.0.1:${port}`))
    const check = spawnSync(command === 'node' ? process.execPath : command, args, { encoding: 'utf8', timeout: 10_000 })
    t.equal(check.status, 0, `the ${file} healthcheck command passes against the running server`)
  }

  server.kill('SIGTERM')
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref())
  const result = await Promise.race([exited, timeout])
  t.same(result, { code: 0, signal: null }, `it exits with code 0 within 10 s of SIGTERM${result === 'timeout' ? `; output:\n${output}` : ''}`)
})

t.test('docker-compose accepts the compose file', async (t) => {
  const run = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root, encoding: 'utf8' })
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    t.fail('docker-compose is not on PATH: install it (Debian: `apt-get install -y docker-compose`) to validate docker-compose.yml')
    return
  }
  t.equal(run.status, 0, `docker-compose config -q exits 0${run.status === 0 ? '' : `:\n${run.stderr}`}`)
})

t.test('the fleet profile: two instances sharing Redis behind HAProxy, validated by docker-compose', async (t) => {
  const fleet = ['redis', 'filegate-a', 'filegate-b', 'proxy']
  for (const name of fleet) t.same(service(name).profiles, ['fleet'], `${name} starts only with --profile fleet`)
  t.equal(service('filegate').profiles, undefined, 'the default stack is unchanged')
  for (const name of ['filegate-a', 'filegate-b']) {
    const config = loadConfig(environmentOf(service(name), name))
    t.equal(new URL(config.redis.url ?? '').hostname, 'redis', `${name} counts its rate limits in the redis service`)
    t.equal(config.trustProxy, 1, `${name} believes the proxy's X-Forwarded-For (one hop)`)
    t.equal(config.production, true)
  }
  const haproxy = read('deploy/haproxy.cfg')
  t.ok(list(service('proxy').volumes, 'proxy.volumes').some((v) => text(v, 'volume').startsWith('./deploy/haproxy.cfg:')), 'the proxy runs deploy/haproxy.cfg')
  t.match(haproxy, /balance roundrobin/)
  t.match(haproxy, /option httpchk GET \/ready/, 'health checks on /ready')
  for (const name of ['filegate-a', 'filegate-b']) t.match(haproxy, new RegExp(`server ${name} ${name}:3000 check`), `HAProxy sends to ${name}`)
  const run = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'fleet', 'config', '-q'], { cwd: root, encoding: 'utf8' })
  t.equal(run.status, 0, `docker-compose --profile fleet config -q exits 0${run.status === 0 ? '' : `:\n${run.stderr}`}`)
})
