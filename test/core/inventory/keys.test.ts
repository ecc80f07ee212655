import { describe, expect, it } from 'vitest';
import { decodeInventoryKey, decodeInventoryKeyOrRaw, encodeInventoryKey } from '../../../src/core/inventory/keys';
import { KEYS } from '../../helpers/inventory';

describe('inventory keys', () => {
  it.each(KEYS)('round-trips %j through the URL encoding', (key) => {
    const encoded = encodeInventoryKey(key);
    expect(encoded).not.toMatch(/ |%(?![0-9A-F]{2})/); // no raw space; every % starts an escape
    expect(decodeInventoryKey(encoded)).toBe(key);
  });

  it('encodes form style: "+" for a space, %2B a plus, %25 a percent, UTF-8 escapes, "/" kept', () => {
    expect(encodeInventoryKey('a b+c%dü/e')).toBe('a+b%2Bc%25d%C3%BC/e');
    expect(encodeInventoryKey('100%.jpg')).toBe('100%25.jpg');
    expect(encodeInventoryKey('c++.png')).toBe('c%2B%2B.png');
    expect(encodeInventoryKey('a b/ü+%25 x.jpg')).toBe('a+b/%C3%BC%2B%2525+x.jpg');
  });

  it('decodes what S3 Inventory writes, "/" plain or as %2F', () => {
    expect(decodeInventoryKey('a+b%2Bc%25d%C3%BC/e')).toBe('a b+c%dü/e');
    expect(decodeInventoryKey('dir%2Fsub%2Ffile+1.jpg')).toBe('dir/sub/file 1.jpg');
    expect(decodeInventoryKey('%E6%97%A5%E6%9C%AC')).toBe('日本');
  });

  it('refuses malformed escapes', () => {
    expect(() => decodeInventoryKey('bad%zz')).toThrow(URIError);
    expect(() => decodeInventoryKey('half%C3')).toThrow(URIError);
    expect(() => decodeInventoryKey('trailing%')).toThrow(URIError);
  });

  it('round-trips many generated keys byte for byte', () => {
    const alphabet = [...'abcXYZ019 +%/._-~!*\'()&=?#,;:"\\', 'ü', 'é', '日', '📷', '\t'];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 500; n++) {
      const key = Array.from({ length: 1 + Math.floor(random() * 20) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      expect(decodeInventoryKey(encodeInventoryKey(key))).toBe(key);
      expect(Buffer.from(decodeInventoryKey(encodeInventoryKey(key)), 'utf8').equals(Buffer.from(key, 'utf8'))).toBe(true);
    }
  });

  it('decodeInventoryKeyOrRaw: the decoded key, or the key as it came when its escapes are malformed', () => {
    expect(decodeInventoryKeyOrRaw('a+b%2Bc%25d%C3%BC/e')).toBe('a b+c%dü/e');
    for (const bad of ['bad%zz', 'half%C3', 'trailing%', 'a+b%']) expect(decodeInventoryKeyOrRaw(bad)).toBe(bad);
  });
});
