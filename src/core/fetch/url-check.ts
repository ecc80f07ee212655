/**
 * Which URLs of a sources CSV may be fetched, decided before any packet is sent (issue 20). Pure
 * except for the injected DNS lookup.
 *
 * - The host (and port) must be on the allowlist: `host` allows the scheme's default port (443 for
 *   https, 80 for http), `host:port` that port only, `*.example.com` any subdomain (not example.com
 *   itself), `[v6]:port` an IPv6 address. `s3://bucket` entries allow `s3://bucket/…` URLs.
 * - Every address the host resolves to is checked, and the request then connects to that checked
 *   address (fetch.ts pins it), so a second DNS answer cannot lead elsewhere (DNS rebinding).
 * - Never fetched, whatever the allowlist says: link-local (169.254.0.0/16 — the EC2 instance
 *   metadata service is 169.254.169.254 — and fe80::/10), the IPv6 metadata address fd00:ec2::254,
 *   unspecified, multicast, reserved and broadcast ranges, and IPv6 forms that embed an IPv4 address
 *   other than IPv4-mapped (NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32).
 * - Loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7
 *   unique local) only when the allowlist names that very address (an IP literal entry, e.g.
 *   `127.0.0.1:8080`): a hostname that resolves to one is refused even when the hostname is listed.
 * - IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as the IPv4 address it maps.
 *
 * `redactUrl` is how a URL appears in every log line, row, report and error: no userinfo, no query
 * (an Azure SAS token, a presigned URL's signature), no fragment.
 */
import { isIP } from 'node:net';
import { FetchError } from '../errors';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address of a hostname (dns.promises.lookup with `all: true`, or a fake in tests). */
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface AllowedHost {
  /** Lower case; an IPv6 address without brackets; `*.` prefix for a wildcard. */
  host: string;
  port?: number;
  /** `s3://bucket` entries. */
  s3?: boolean;
}

export interface CheckedUrl {
  url: URL;
  /** Hostname without IPv6 brackets (for SNI and the Host header it is url.host). */
  hostname: string;
  port: number;
  /** The checked address the request must connect to. */
  address: string;
  family: 4 | 6;
}

const DEFAULT_PORTS: Record<string, number> = { 'https:': 443, 'http:': 80 };

/** Parses `host`, `host:port`, `[v6]`, `[v6]:port`, `*.domain`, `s3://bucket`. Throws on anything else. */
export function parseAllowHost(spec: string): AllowedHost {
  const text = spec.trim().toLowerCase();
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?$/.exec(text);
  if (s3) return { host: s3[1]!, s3: true };
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(text);
  const plain = /^(\*\.)?([a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  let host: string;
  let port: string | undefined;
  if (bracketed && isIP(bracketed[1]!) === 6) [host, port] = [bracketed[1]!, bracketed[2]];
  else if (plain && plain[2] && !plain[2].startsWith('.') && !plain[2].endsWith('.') && !plain[2].includes('..')) [host, port] = [`${plain[1] ?? ''}${plain[2]}`, plain[3]];
  else throw new Error(`not an allowed host: ${JSON.stringify(spec)} (host, host:port, *.domain, [ipv6]:port or s3://bucket)`);
  if (host.startsWith('*.') && isIP(host.slice(2))) throw new Error(`a wildcard names a domain, not an address: ${spec}`);
  const number = port === undefined ? undefined : Number(port);
  if (number !== undefined && (number < 1 || number > 65535)) throw new Error(`port out of range in ${JSON.stringify(spec)}`);
  return { host: isIP(host) === 6 ? canonicalIpv6(host) : host, ...(number !== undefined ? { port: number } : {}) };
}

/** A URL as it may be shown: scheme, host, port and path only. Never throws. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const redacted = `${url.protocol}//${url.username || url.password ? '***@' : ''}${url.host}${url.pathname}`;
    return url.search ? `${redacted}?***` : redacted;
  } catch {
    // Not a URL: cut at the first '?' or '#', and hide anything before an '@' of the authority.
    const head = raw.split(/[?#]/, 1)[0]!.replace(/^([^/]*\/\/)[^/@]*@/, '$1***@');
    return `${head.slice(0, 200)}${raw.length > head.length ? '?***' : ''}`;
  }
}

/** Why an address may never be fetched, or `private`/`loopback` (allowed only when named), or undefined (public). */
export function classifyAddress(address: string): { refused?: string; restricted?: string } {
  const family = isIP(address);
  if (family === 4) return classifyIpv4(ipv4Number(address));
  if (family !== 6) return { refused: `not an IP address: ${address}` };
  const words = ipv6Words(address);
  // IPv4-mapped ::ffff:a.b.c.d: checked as the IPv4 address.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return classifyIpv4(words[6]! * 0x10000 + words[7]!);
  const is = (prefix: number[], bits: number) => matchesPrefix(words, prefix, bits);
  if (words.every((w) => w === 0)) return { refused: 'the unspecified address ::' };
  if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return { restricted: 'loopback ::1' };
  if (words.slice(0, 6).every((w) => w === 0)) return { refused: 'an IPv4-compatible IPv6 address (deprecated, ::/96)' };
  if (canonicalIpv6(address) === 'fd00:ec2::254') return { refused: 'the EC2 instance metadata service (fd00:ec2::254)' };
  if (is([0xfe80], 10)) return { refused: 'link-local (fe80::/10)' };
  if (is([0xfec0], 10)) return { refused: 'site-local (fec0::/10, deprecated)' };
  if (is([0xff00], 8)) return { refused: 'multicast (ff00::/8)' };
  if (is([0x64, 0xff9b], 32)) return { refused: 'NAT64 (64:ff9b::/96 embeds an IPv4 address)' };
  if (is([0x2002], 16)) return { refused: '6to4 (2002::/16 embeds an IPv4 address)' };
  if (is([0x2001, 0], 32)) return { refused: 'Teredo (2001::/32 embeds an IPv4 address)' };
  if (is([0x100], 64)) return { refused: 'discard-only (100::/64)' };
  if (is([0x2001, 0xdb8], 32)) return { refused: 'documentation (2001:db8::/32)' };
  if (is([0xfc00], 7)) return { restricted: 'private (unique local fc00::/7)' };
  return {};
}

function classifyIpv4(n: number): { refused?: string; restricted?: string } {
  const inRange = (base: string, bits: number) => (n >>> (32 - bits)) === (ipv4Number(base) >>> (32 - bits));
  if (n === ipv4Number('169.254.169.254')) return { refused: 'the EC2 instance metadata service (169.254.169.254)' };
  if (inRange('169.254.0.0', 16)) return { refused: 'link-local (169.254.0.0/16)' };
  if (inRange('0.0.0.0', 8)) return { refused: '"this network" (0.0.0.0/8)' };
  if (inRange('224.0.0.0', 4)) return { refused: 'multicast (224.0.0.0/4)' };
  if (inRange('240.0.0.0', 4)) return { refused: 'reserved or broadcast (240.0.0.0/4)' };
  if (inRange('192.0.0.0', 24)) return { refused: 'IETF protocol assignments (192.0.0.0/24)' };
  if (inRange('198.18.0.0', 15)) return { refused: 'benchmarking (198.18.0.0/15)' };
  if (inRange('127.0.0.0', 8)) return { restricted: 'loopback (127.0.0.0/8)' };
  if (inRange('10.0.0.0', 8)) return { restricted: 'private (10.0.0.0/8)' };
  if (inRange('172.16.0.0', 12)) return { restricted: 'private (172.16.0.0/12)' };
  if (inRange('192.168.0.0', 16)) return { restricted: 'private (192.168.0.0/16)' };
  if (inRange('100.64.0.0', 10)) return { restricted: 'shared address space (100.64.0.0/10)' };
  return {};
}

/**
 * The URL checked against the allowlist and every address its host resolves to: the address to
 * connect to, or a FetchError (`host-refused`, `bad-source`, `unreachable` when DNS fails). `s3://`
 * URLs are checked by checkS3Url.
 */
export async function checkUrl(raw: string, allowlist: readonly AllowedHost[], lookup: Lookup): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('bad-source', `not a URL: ${redactUrl(raw)}`);
  }
  const shown = redactUrl(raw);
  if (!(url.protocol in DEFAULT_PORTS)) throw new FetchError('bad-source', `${shown}: only https, http and s3 URLs are fetched`);
  if (url.username || url.password) throw new FetchError('bad-source', `${shown}: credentials in the URL's userinfo are refused (a query string such as a SAS token is fine)`);
  const hostname = url.hostname.startsWith('[') ? canonicalIpv6(url.hostname.slice(1, -1)) : url.hostname.toLowerCase();
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol]!;
  const entry = allowlist.find((allowed) => !allowed.s3 && hostMatches(allowed, hostname) && (allowed.port ?? DEFAULT_PORTS[url.protocol]) === port);
  if (!entry) throw new FetchError('host-refused', `${shown}: host ${hostname}:${port} is not on the allowlist`);
  const literal = isIP(hostname);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: hostname, family: literal as 4 | 6 }];
  else {
    try {
      addresses = await lookup(hostname);
    } catch (error) {
      throw new FetchError('unreachable', `${shown}: ${hostname} does not resolve (${(error as { code?: string }).code ?? 'DNS error'})`);
    }
    if (addresses.length === 0) throw new FetchError('unreachable', `${shown}: ${hostname} has no address`);
  }
  for (const { address } of addresses) {
    const { refused, restricted } = classifyAddress(address);
    if (refused) throw new FetchError('host-refused', `${shown}: ${hostname} is ${address === hostname ? '' : `${address}, `}${refused}: never fetched`);
    // Loopback and private addresses only when the allowlist names that very address.
    if (restricted && !(literal && entry.host === hostname)) {
      throw new FetchError('host-refused', `${shown}: ${hostname} is ${address === hostname ? '' : `${address}, `}${restricted}: fetched only when the allowlist names the address itself`);
    }
  }
  const chosen = addresses[0]!;
  return { url, hostname, port, address: chosen.address, family: chosen.family };
}

/** An `s3://bucket/key` URL: its bucket must be on the allowlist as `s3://bucket`. */
export function checkS3Url(raw: string, allowlist: readonly AllowedHost[]): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/?#]+)\/([^?#]+)$/.exec(raw);
  if (!match) throw new FetchError('bad-source', `not an s3://bucket/key URL: ${redactUrl(raw)}`);
  const bucket = match[1]!.toLowerCase();
  if (!allowlist.some((allowed) => allowed.s3 && allowed.host === bucket)) throw new FetchError('host-refused', `${redactUrl(raw)}: bucket ${bucket} is not on the allowlist (as s3://${bucket})`);
  return { bucket, key: decodeURIComponent(match[2]!) };
}

function hostMatches(allowed: AllowedHost, hostname: string): boolean {
  if (allowed.host.startsWith('*.')) return hostname.endsWith(allowed.host.slice(1)) && hostname.length > allowed.host.length - 1;
  return allowed.host === hostname;
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** The eight 16-bit words of an IPv6 address (with `::` and a dotted IPv4 tail expanded). */
export function ipv6Words(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = ipv4Number(tail[1]!);
    text = `${text.slice(0, -tail[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  const words = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right].map((word) => parseInt(word, 16));
  return words;
}

function canonicalIpv6(address: string): string {
  const words = ipv6Words(address);
  // Longest run of zero words becomes '::' (RFC 5952), enough to compare addresses.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i };
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

function matchesPrefix(words: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((words[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}
