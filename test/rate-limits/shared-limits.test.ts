// Limits shared by instances through Redis: one owner over three instances gets exactly one 429 at RATE_LIMIT_MAX + 1;
// anonymous downloads are limited per client address, and X-Forwarded-For counts only when TRUST_PROXY trusts the peer.
import t from 'tap'
import { bearer } from '../helper.js'
import { startInstances, sharedFile } from '../support/app-instances.js'
import { startTestRedis } from '../support/redis-server.js'

const MAX = 7
const grantRequest = (owner: string) => ({ method: 'POST' as const, url: '/files/upload-url', headers: bearer(owner), payload: { filename: 'n.txt' } })

t.test('with REDIS_URL, one owner spreading RATE_LIMIT_MAX + 1 requests over three instances gets exactly one 429', async (t) => {
  const redis = await startTestRedis(t)
  const fleet = await startInstances(t, 3, { REDIS_URL: redis.url, RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: '1m' })
  const statuses: number[] = []
  for (let i = 0; i <= MAX; i++) statuses.push((await fleet.inject(i, grantRequest('alice'))).statusCode)
  t.same(statuses.filter((s) => s === 429).length, 1, `exactly one 429 among ${MAX + 1}: ${statuses.join(' ')}`)
  t.equal(statuses.at(-1), 429, 'and it is the last one')
  const last = await fleet.inject(MAX + 1, grantRequest('alice'))
  t.match(last.json(), { statusCode: 429, code: 'RATE_LIMITED' }, 'every instance now refuses alice')
  t.ok(Number(last.headers['retry-after']) > 0, 'with Retry-After')
  t.equal((await fleet.inject(0, grantRequest('bob'))).statusCode, 200, 'bob has his own budget')

  // Concurrent requests too: the counter is one atomic INCR, so a burst over the instances cannot slip through.
  const burst = await Promise.all(Array.from({ length: MAX + 3 }, async (_, i) => (await fleet.inject(i, grantRequest('carol'))).statusCode))
  t.equal(burst.filter((s) => s === 200).length, MAX, `a concurrent burst of ${MAX + 3}: ${MAX} pass`)
  t.equal(burst.filter((s) => s === 429).length, 3, 'and 3 are refused')
})

t.test('with REDIS_URL, listings, records and download URLs share one read budget per owner over the instances', async (t) => {
  const redis = await startTestRedis(t)
  const fleet = await startInstances(t, 3, { REDIS_URL: redis.url, READ_RATE_LIMIT_MAX: '4', READ_RATE_LIMIT_WINDOW: '1m' })
  const id = await sharedFile(fleet.apps[0]!, 'alice')
  const urls = ['/files', `/files/${id}`, `/files/download/${id}`, '/files?limit=1', `/files/${id}`]
  const statuses: number[] = []
  for (const [i, url] of urls.entries()) statuses.push((await fleet.inject(i, { method: 'GET', url, headers: bearer('alice') })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 429], `4 reads over three routes and three instances, then 429: ${statuses.join(' ')}`)
  t.equal((await fleet.inject(1, { method: 'GET', url: `/files/download/${id}`, headers: bearer('alice') })).statusCode, 429, 'the download URL route is out of budget too')
  t.equal((await fleet.inject(2, { method: 'GET', url: '/files', headers: bearer('bob') })).statusCode, 200, 'bob has his own budget')
})

t.test('without REDIS_URL each instance counts on its own (as documented)', async (t) => {
  const fleet = await startInstances(t, 3, { RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: '1m' })
  const statuses: number[] = []
  for (let i = 0; i < 3 * MAX; i++) statuses.push((await fleet.inject(i, grantRequest('alice'))).statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 3 * MAX, `three processes allow ${3 * MAX}`)
  t.equal((await fleet.inject(0, grantRequest('alice'))).statusCode, 429, 'and then each refuses')
})

t.test('anonymous downloads over RATE_LIMIT_ANONYMOUS_MAX get 429 per client address, shared by the instances', async (t) => {
  const redis = await startTestRedis(t)
  const fleet = await startInstances(t, 3, { REDIS_URL: redis.url, RATE_LIMIT_ANONYMOUS_MAX: '4', RATE_LIMIT_WINDOW: '1m' })
  const id = await sharedFile(fleet.apps[0]!, 'alice')
  const download = (i: number, remoteAddress: string, headers: Record<string, string> = {}) =>
    fleet.inject(i, { method: 'GET', url: `/files/download/${id}`, remoteAddress, headers })

  const first: number[] = []
  for (let i = 0; i < 5; i++) first.push((await download(i, '198.51.100.7')).statusCode)
  t.same(first, [200, 200, 200, 200, 429], 'the fifth anonymous download from one address, on any instance, is refused')
  const refused = await download(2, '198.51.100.7')
  t.match(refused.json(), { statusCode: 429, code: 'RATE_LIMITED' })
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After')
  t.equal((await download(1, '198.51.100.8')).statusCode, 200, 'another address has its own budget')
  t.equal((await download(1, '198.51.100.7', bearer('alice'))).statusCode, 200, 'a caller with a token is not counted as anonymous')
  const missing = await fleet.inject(0, { method: 'GET', url: '/files/download/0190a0a0-0000-7000-8000-000000000000', remoteAddress: '198.51.100.9' })
  t.equal(missing.statusCode, 404)
  for (let i = 0; i < 3; i++) await fleet.inject(i, { method: 'GET', url: '/files/download/0190a0a0-0000-7000-8000-000000000000', remoteAddress: '198.51.100.9' })
  t.equal((await download(0, '198.51.100.9')).statusCode, 429, 'probing missing ids spends the same budget')
})

t.test('TRUST_PROXY=false: a spoofed X-Forwarded-For is ignored; the peer address is counted', async (t) => {
  const fleet = await startInstances(t, 1, { RATE_LIMIT_ANONYMOUS_MAX: '3', RATE_LIMIT_WINDOW: '1m' })
  const id = await sharedFile(fleet.apps[0]!, 'alice')
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    const res = await fleet.inject(0, { method: 'GET', url: `/files/download/${id}`, remoteAddress: '203.0.113.50', headers: { 'x-forwarded-for': `192.0.2.${i + 1}` } })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [200, 200, 200, 429], 'four made-up client addresses from one peer share its budget')
})

t.test('TRUST_PROXY=<the proxy>: X-Forwarded-For names the client when the proxy sends it, and only then', async (t) => {
  const proxy = '10.1.2.3'
  const fleet = await startInstances(t, 2, { TRUST_PROXY: `${proxy}, 10.9.0.0/16`, RATE_LIMIT_ANONYMOUS_MAX: '2', RATE_LIMIT_WINDOW: '1m' })
  const id = await sharedFile(fleet.apps[0]!, 'alice')
  const viaProxy = async (client: string) => (await fleet.inject(0, { method: 'GET', url: `/files/download/${id}`, remoteAddress: proxy, headers: { 'x-forwarded-for': client } })).statusCode
  t.same([await viaProxy('192.0.2.1'), await viaProxy('192.0.2.1'), await viaProxy('192.0.2.1')], [200, 200, 429], 'one client behind the proxy: its own budget')
  t.equal(await viaProxy('192.0.2.2'), 200, 'another client behind the same proxy is not refused')
  // A client that reaches the instance directly (not through the proxy) cannot choose its address with the header.
  const direct = async (spoofed: string) => (await fleet.inject(1, { method: 'GET', url: `/files/download/${id}`, remoteAddress: '198.51.100.20', headers: { 'x-forwarded-for': spoofed } })).statusCode
  t.same([await direct('192.0.2.10'), await direct('192.0.2.11'), await direct('192.0.2.12')], [200, 200, 429], 'an untrusted peer is counted by its own address')
  // Through the proxy, a client's own X-Forwarded-For is the leftmost entry; the proxy appends what it saw, which wins.
  const chained = async (spoofed: string) => (await fleet.inject(1, { method: 'GET', url: `/files/download/${id}`, remoteAddress: proxy, headers: { 'x-forwarded-for': `${spoofed}, 192.0.2.30` } })).statusCode
  t.same([await chained('192.0.2.40'), await chained('192.0.2.41'), await chained('192.0.2.42')], [200, 200, 429], 'made-up addresses before the proxy\'s entry are ignored')
})

t.test('TRUST_PROXY=1: one hop is believed, so the proxy\'s entry names the client', async (t) => {
  const fleet = await startInstances(t, 1, { TRUST_PROXY: '1', RATE_LIMIT_ANONYMOUS_MAX: '1', RATE_LIMIT_WINDOW: '1m' })
  const id = await sharedFile(fleet.apps[0]!, 'alice')
  const from = async (xff: string) => (await fleet.inject(0, { method: 'GET', url: `/files/download/${id}`, remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': xff } })).statusCode
  t.same([await from('192.0.2.1'), await from('192.0.2.1')], [200, 429])
  t.equal(await from('192.0.2.99, 192.0.2.1'), 429, 'a made-up first entry does not give the same client a new budget')
  t.equal(await from('192.0.2.2'), 200, 'another client does get its own')
})
