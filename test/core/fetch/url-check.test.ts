import { describe, expect, it } from 'vitest';
import { FetchError } from '../../../src/core/errors';
import { checkS3Url, checkUrl, classifyAddress, type Lookup, parseAllowHost, redactUrl } from '../../../src/core/fetch/url-check';

/** DNS answers from a table: no test here resolves or connects to anything. */
const lookupFrom = (table: Record<string, string[]>): Lookup => async (hostname) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
};
const noLookup: Lookup = async () => {
  throw new Error('no lookup expected');
};
const allow = (...specs: string[]) => specs.map(parseAllowHost);

async function refusal(url: string, allowlist: ReturnType<typeof allow>, lookup: Lookup = noLookup): Promise<FetchError> {
  const error = await checkUrl(url, allowlist, lookup).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError;
}

describe('redactUrl: a URL as every log line, row, report and error shows it', () => {
  it('drops an Azure SAS query, userinfo and the fragment', () => {
    const sas = 'https://acct.blob.core.windows.net/photos/a%20b.jpg?sv=2022-11-02&ss=b&sig=AbC%2Bsecret%3D&se=2030-01-01';
    expect(redactUrl(sas)).toBe('https://acct.blob.core.windows.net/photos/a%20b.jpg?***');
    expect(redactUrl(sas)).not.toContain('secret');
    expect(redactUrl('https://user:pa55@host.example/x.jpg#frag')).toBe('https://***@host.example/x.jpg');
    expect(redactUrl('http://127.0.0.1:8080/p.jpg')).toBe('http://127.0.0.1:8080/p.jpg');
  });

  it('redacts what is not even a URL', () => {
    expect(redactUrl('ht!tp://user:pw@x/y?sig=SECRET')).not.toMatch(/SECRET|pw/);
    expect(redactUrl('s3://bucket/key?versionId=abc')).toBe('s3://bucket/key?***');
  });
});

describe('parseAllowHost', () => {
  it('reads host, host:port, [ipv6]:port, wildcards and s3://bucket', () => {
    expect(parseAllowHost('Images.Example.com')).toEqual({ host: 'images.example.com' });
    expect(parseAllowHost('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseAllowHost('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseAllowHost('*.blob.core.windows.net')).toEqual({ host: '*.blob.core.windows.net' });
    expect(parseAllowHost('s3://old-photos')).toEqual({ host: 'old-photos', s3: true });
  });

  it('refuses what is not a host', () => {
    for (const bad of ['', 'http://x', 'a..b', 'x:99999', '*.10.0.0.1', 'host/path']) expect(() => parseAllowHost(bad)).toThrow();
  });
});

describe('checkUrl: decided before any packet (an injected lookup; nothing resolves or connects)', () => {
  it('refuses the EC2 metadata address even when it is on the allowlist', async () => {
    const error = await refusal('http://169.254.169.254/latest/meta-data/iam/security-credentials/', allow('169.254.169.254:80'));
    expect(error.reason).toBe('host-refused');
    expect(error.message).toContain('metadata');
  });

  it('refuses a private address not named on the allowlist, and 10.0.0.1 named by a hostname', async () => {
    expect((await refusal('http://10.0.0.1/a.jpg', allow('example.com'))).reason).toBe('host-refused');
    const error = await refusal('https://photos.example.com/a.jpg?sig=SECRET', allow('photos.example.com'), lookupFrom({ 'photos.example.com': ['93.184.216.34', '10.0.0.1'] }));
    expect(error.reason).toBe('host-refused');
    expect(error.message).toContain('10.0.0.1');
    expect(error.message).not.toContain('SECRET');
  });

  it('refuses [fd00::1] (unique local) and the IPv6 metadata address fd00:ec2::254', async () => {
    expect((await refusal('http://[fd00::1]/a.jpg', allow('example.com'))).reason).toBe('host-refused');
    expect((await refusal('http://[fd00::1]:80/a.jpg', allow('[fd00::2]'))).reason).toBe('host-refused');
    const metadata = await refusal('http://[fd00:ec2::254]/latest/', allow('[fd00:ec2::254]'));
    expect(metadata.message).toContain('metadata');
  });

  it('refuses a hostname that resolves to the metadata address, to link-local or to loopback', async () => {
    for (const address of ['169.254.169.254', '169.254.10.1', 'fe80::1', '127.0.0.1', '::ffff:169.254.169.254', '::ffff:10.1.2.3']) {
      const error = await refusal('https://evil.example/a.jpg', allow('evil.example'), lookupFrom({ 'evil.example': [address] }));
      expect(error.reason, address).toBe('host-refused');
    }
  });

  it('refuses IPv4-mapped IPv6 for a loopback address named only as IPv4', async () => {
    expect((await refusal('http://[::ffff:127.0.0.1]:8080/a.jpg', allow('127.0.0.1:8080'))).reason).toBe('host-refused');
  });

  it('allows loopback only when the allowlist names that address and port', async () => {
    const ok = await checkUrl('http://127.0.0.1:8080/a.jpg?sig=x', allow('127.0.0.1:8080'), noLookup);
    expect(ok).toMatchObject({ address: '127.0.0.1', port: 8080, hostname: '127.0.0.1' });
    expect((await refusal('http://127.0.0.2:8080/a.jpg', allow('127.0.0.1:8080'))).reason).toBe('host-refused');
    expect((await refusal('http://127.0.0.1:8081/a.jpg', allow('127.0.0.1:8080'))).reason).toBe('host-refused');
    expect((await refusal('http://localhost:8080/a.jpg', allow('localhost:8080'), lookupFrom({ localhost: ['127.0.0.1'] }))).reason).toBe('host-refused');
  });

  it('allows a listed public host on its default port, and connects to the address it checked', async () => {
    const lookup = lookupFrom({ 'acct.blob.core.windows.net': ['20.60.1.2'] });
    const ok = await checkUrl('https://acct.blob.core.windows.net/c/a.jpg?sig=s', allow('*.blob.core.windows.net'), lookup);
    expect(ok).toMatchObject({ address: '20.60.1.2', port: 443, family: 4 });
    expect((await refusal('https://acct.blob.core.windows.net:8443/a.jpg', allow('*.blob.core.windows.net'), lookup)).reason).toBe('host-refused');
    expect((await refusal('https://blob.core.windows.net/a.jpg', allow('*.blob.core.windows.net'), lookup)).reason).toBe('host-refused');
  });

  it('refuses other schemes and credentials in userinfo (bad-source), an unresolvable host (unreachable)', async () => {
    expect((await refusal('ftp://example.com/a.jpg', allow('example.com'))).reason).toBe('bad-source');
    const userinfo = await refusal('https://me:pw@example.com/a.jpg', allow('example.com'));
    expect(userinfo.reason).toBe('bad-source');
    expect(userinfo.message).not.toContain('pw');
    expect((await refusal('https://nowhere.example/a.jpg', allow('nowhere.example'), lookupFrom({}))).reason).toBe('unreachable');
  });

  it('classifies addresses', () => {
    expect(classifyAddress('8.8.8.8')).toEqual({});
    expect(classifyAddress('2606:4700::1111')).toEqual({});
    expect(classifyAddress('172.20.0.1').restricted).toContain('172.16.0.0/12');
    expect(classifyAddress('192.168.1.1').restricted).toContain('192.168');
    expect(classifyAddress('::1').restricted).toContain('loopback');
    expect(classifyAddress('0.0.0.0').refused).toBeDefined();
    expect(classifyAddress('::').refused).toBeDefined();
    expect(classifyAddress('64:ff9b::a9fe:a9fe').refused).toContain('NAT64');
  });

  it('checks s3:// URLs against s3://bucket entries', () => {
    expect(checkS3Url('s3://old-photos/a/b%20c.jpg', allow('s3://old-photos'))).toEqual({ bucket: 'old-photos', key: 'a/b c.jpg' });
    expect(() => checkS3Url('s3://other/a.jpg', allow('s3://old-photos'))).toThrow(/not on the allowlist/);
  });
});
