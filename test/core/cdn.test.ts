/** The URL spelling of keys: a request path → the key it names (percent-decoding, RFC 3986). */
import { describe, expect, it } from 'vitest';
import { decodeUrlPath, encodeKeyPath, invalidationPaths, keyOfUrlPath, negotiatedKeyOf } from '../../src/core/cdn';
import { decodeInventoryKey } from '../../src/core/inventory/keys';

describe('decodeUrlPath', () => {
  it('undoes percent-escapes; "+" stays a plus, unlike in an S3 Inventory key', () => {
    expect(decodeUrlPath('a%20b%2B1%25+c%2Fd/%C3%BC')).toBe('a b+1%+c/d/ü');
    expect(decodeInventoryKey('a%20b%2B1%25+c')).toBe('a b+1% c');
  });

  it('is undefined for malformed escapes, never a throw', () => {
    for (const bad of ['bad%zz', 'half%C3', 'trailing%', '%E0%A4%A']) expect(decodeUrlPath(bad), bad).toBeUndefined();
  });
});

describe('keyOfUrlPath', () => {
  it('drops the query and the leading slashes, then decodes', () => {
    expect(keyOfUrlPath('/small/trips/a%20b%2B1%25.jpg?x=1')).toBe('small/trips/a b+1%.jpg');
    expect(keyOfUrlPath('//thumb/a%20b.jpg?x=%zz')).toBe('thumb/a b.jpg');
    expect(keyOfUrlPath('/')).toBe('');
    expect(keyOfUrlPath('/bad%E0%A4%A.jpg')).toBeUndefined();
  });

  it('reads back every key encodeKeyPath writes', () => {
    for (const key of ['trips/beach day+1 100%.jpg', 'städte/Zürich ✓.jpg', "odd/a*b,c;d=e:f@g$h&i!(j)'.jpg", 'q?h#.jpg']) {
      expect(keyOfUrlPath(`/${encodeKeyPath(key)}?v=1`)).toBe(key);
    }
  });
});

describe('invalidationPaths', () => {
  it('a variant\'s key also invalidates the URL it is negotiated at (every Accept choice cached there); other keys only themselves', () => {
    expect(invalidationPaths(['small.webp/trips/a b.jpg'])).toEqual(['/small.webp/trips/a%20b.jpg', '/small/trips/a%20b.jpg']);
    expect(invalidationPaths(['dynamic/300x200-inside.avif/a.jpg', 'dynamic/300x200-inside/a.jpg'])).toEqual(['/dynamic/300x200-inside.avif/a.jpg', '/dynamic/300x200-inside/a.jpg']);
    expect(invalidationPaths(['small/a.jpg', 'a.webp', 'trips/x.webp/a.jpg', 'small.png/a.jpg'])).toEqual(['/a.webp', '/small.png/a.jpg', '/small/a.jpg', '/trips/x.webp/a.jpg']);
    expect(negotiatedKeyOf('small.avif/x/y.jpg')).toEqual(['small/x/y.jpg']);
  });
});
