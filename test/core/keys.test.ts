import { describe, expect, it } from 'vitest';
import { assetKey, cropKey, pointerTarget, validateSourceKey } from '../../src/core/keys';
import { PhotoError } from '../../src/core/errors';

const sha = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';

describe('key scheme', () => {
  it('shards assets by the first three bytes of their sha-256', () => {
    expect(assetKey(sha, 'jpg')).toBe(`assets/ab/cd/ef/${sha}.jpg`);
    expect(() => assetKey('ABC', 'jpg')).toThrow(/sha-256/);
  });

  it('puts crops under their preset and pointers at /<asset key>', () => {
    expect(cropKey('thumb', 'a b/ü+%.jpg')).toBe('thumb/a b/ü+%.jpg');
    expect(pointerTarget(assetKey(sha, 'png'))).toBe(`/assets/ab/cd/ef/${sha}.png`);
  });

  it('accepts any ordinary file name', () => {
    for (const key of ['a.jpg', 'holiday 2024/Zürich + friends 100%.jpg', '日本/写真.png', 'thumbnails.jpg', 'thumb.jpg']) {
      expect(() => validateSourceKey(key, ['thumb'])).not.toThrow();
    }
  });

  it('refuses keys that would collide with the library layout or escape it', () => {
    for (const key of ['thumb/x.jpg', 'assets/ab/x.jpg', 'runs/x', 'dynamic/300x200/x.jpg', '../x.jpg', 'a/../b.jpg', '/abs.jpg', 'a\u0000b.jpg', 'tab\there.jpg', '', 'x'.repeat(1025)]) {
      expect(() => validateSourceKey(key, ['thumb']), key).toThrow(PhotoError);
    }
  });
});
