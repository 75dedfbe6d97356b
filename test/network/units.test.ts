// Pure parts of the network hardening: address bytes and ranges, the special-address classes,
// the lookup limiter, the listener plan, the npmrc filter. Unit and property tests.
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { networkListenerPlan } from '../../src/network-plan.js';
import { NetworkAllowlistEntry, SandboxPolicy } from '../../src/index.js';
import { ipBytes, ipText, parseCidr, rangeContains } from '../../src/policy/ip.js';
import { specialAddressClass } from '../../src/proxy/host.js';
import { LookupLimiter } from '../../src/proxy/resolver.js';
import { npmrcSettings } from '../../src/tool-env.js';
import { tempDir } from '../helpers/process.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));

describe('ip bytes and ranges', () => {
  it('text ↔ bytes round-trips (IPv4, IPv6; IPv4-mapped folds to IPv4)', () => {
    fc.assert(fc.property(v4, (a) => ipText(ipBytes(a)!) === a));
    fc.assert(
      fc.property(v6, (a) => {
        const bytes = ipBytes(a)!;
        return ipText(bytes) === (bytes.length === 4 ? ipText(bytes) : new URL(`http://[${a}]/`).hostname.slice(1, -1));
      }),
    );
    expect(ipText(ipBytes('::ffff:10.0.0.1')!)).toBe('10.0.0.1');
    expect(ipText(ipBytes('::ffff:a00:1')!)).toBe('10.0.0.1');
  });

  it('a range holds every address sharing its prefix and none that differs inside it', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 1, max: 32 }), (a, prefix) => {
        const bytes = ipBytes(a)!;
        const network = Uint8Array.from(bytes);
        for (let bit = prefix; bit < 32; bit++) network[bit >> 3]! &= ~(0x80 >> bit % 8);
        const range = parseCidr(`${ipText(network)}/${prefix}`)!;
        const flipped = Uint8Array.from(bytes);
        const bit = prefix - 1;
        flipped[bit >> 3]! ^= 0x80 >> bit % 8;
        return rangeContains(range, bytes) && !rangeContains(range, flipped);
      }),
    );
    expect(parseCidr('10.0.0.1/8')).toBeUndefined(); // host bits set
    expect(rangeContains(parseCidr('fd00::/8')!, ipBytes('fd12::1')!)).toBe(true);
    expect(rangeContains(parseCidr('10.0.0.0/8')!, ipBytes('fd12::1')!)).toBe(false);
  });
});

describe('special destinations', () => {
  it('names the class of every non-public address, in every spelling', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['10.9.8.7', 'private'],
      ['172.31.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'shared address space'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fd00::5', 'unique local'],
      ['fc00::1', 'unique local'],
      ['224.0.0.1', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['240.0.0.1', 'reserved'],
      ['64:ff9b::a00:1', 'NAT64 of private'],
      ['64:ff9b::7f00:1', 'NAT64 of loopback'],
      ['2002:a9fe:a9fe::', '6to4 of link-local'],
      ['192.0.2.2', 'documentation'],
      ['2001:db8::1', 'documentation'],
      ['3fff::1', 'documentation'],
      ['2001:2::1', 'benchmarking'],
      ['64:ff9b:1::a9fe:a9fe', 'local-use NAT64'],
      ['2001:0:4136:e378::1', 'Teredo'],
    ];
    for (const [address, why] of cases) expect(specialAddressClass(address), address).toContain(why);
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '64:ff9b::808:808', '172.32.0.1', '100.128.0.1']) {
      expect(specialAddressClass(address), address).toBeUndefined();
    }
  });
});

describe('LookupLimiter', () => {
  it('runs at most `concurrency`, queues `queue`, refuses the rest at once, and times out from the ask', async () => {
    const limiter = new LookupLimiter({ concurrency: 2, queue: 1, timeoutMs: 100 });
    let running = 0;
    let peak = 0;
    const hang = (host: string) =>
      new Promise<string[]>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        setTimeout(() => {
          running--;
          resolve([host]);
        }, 300);
      });
    const outcomes = await Promise.allSettled([0, 1, 2, 3].map((i) => limiter.run(hang, `h${i}`)));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as NodeJS.ErrnoException).code : 'ok'))).toEqual([
      'ETIMEDOUT',
      'ETIMEDOUT',
      'ETIMEDOUT',
      'EBUSY',
    ]);
    expect(peak).toBe(2);
    // The queued one timed out before it started: it never ran.
    await new Promise((r) => setTimeout(r, 350));
    expect(running).toBe(0);
    expect(limiter.pending).toBe(0);
    // Control: a quick resolver answers.
    expect(await limiter.run(async (h) => [h], 'fast')).toEqual(['fast']);
  });
});

describe('listener plan', () => {
  const plan = (...entries: NetworkAllowlistEntry[]) => networkListenerPlan(SandboxPolicy.readOnlyWithNetwork(entries));
  it('one listener per family for a host loopback entry, the proxy moved off a forwarded 3128, udp entries listed', () => {
    const p = plan(NetworkAllowlistEntry.withPort('localhost', 5432), NetworkAllowlistEntry.withPort('127.0.0.1', 3128), NetworkAllowlistEntry.withPort('example.com', 443));
    expect(p.proxyPort).toBe(3129);
    expect(p.listeners.map((l) => `${l.ipv6 ? 6 : 4}:${l.port}`)).toEqual(['4:3129', '4:5432', '6:5432', '4:3128']);
    const udp = networkListenerPlan(SandboxPolicy.parse({ type: 'read_only', network_allowlist: [{ domain: 'dns.test', port: 53, protocol: 'udp' }] }));
    expect(udp.udpEntries).toEqual(['dns.test:53']);
    expect(udp.listeners).toHaveLength(1);
  });
  it('more forwards than listeners is a named problem', () => {
    const many = Array.from({ length: 20 }, (_, i) => NetworkAllowlistEntry.withPort('127.0.0.1', 5000 + i));
    const p = plan(...many);
    expect(p.listeners).toHaveLength(16);
    expect(p.problems[0]).toMatch(/at most 15 loopback listeners/);
  });
});

describe('npmrc settings', () => {
  it('passes the non-secret keys and drops every auth spelling, ${VAR} values and URL credentials', () => {
    const home = tempDir();
    try {
      mkdirSync(home.dir, { recursive: true });
      writeFileSync(
        join(home.dir, '.npmrc'),
        [
          'registry=https://registry.example.test/',
          '@corp:registry = "https://npm.corp.test/"',
          'strict-ssl=false',
          '; a comment',
          '//registry.example.test/:_authToken=SECRET1',
          '_authToken=SECRET2',
          '_auth=SECRET3',
          '//npm.corp.test/:_password=SECRET4',
          'username=me',
          'email=me@example.test',
          'keyfile=/home/me/key.pem',
          'otp=123456',
          '//other.test/:_AUTHTOKEN=SECRET5',
          'proxy=http://user:SECRET6@proxy.test:8080',
          'cafile=${HOME}/ca.pem',
          'NPM_TOKEN=SECRET7',
          '"//r.test/:_authToken"=SECRET8',
          "'//r.test/:_authToken'=SECRET9",
          '//r.test/:_authToken;c=SECRET10',
          '//r.test/:_authToken[]=SECRET11',
          'color=always\r//r.test/:_authToken=SECRET12',
          '_authTok\\u0065n=SECRET13',
          'https-proxy=http:\\\\user:SECRET14@proxy.test/',
          'registry#x=SECRET15',
        ].join('\n'),
      );
      const settings = npmrcSettings(home.dir);
      expect(settings.keys).toEqual(['registry', '@corp:registry', 'strict-ssl', 'color']);
      expect(settings.env).toEqual({
        npm_config_registry: 'https://registry.example.test/',
        'npm_config_@corp:registry': 'https://npm.corp.test/',
        npm_config_strict_ssl: 'false',
        npm_config_color: 'always',
      });
      expect(JSON.stringify(settings.env)).not.toMatch(/SECRET/);
    } finally {
      home.cleanup();
    }
  });
});
