import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { ConfigError } from '../../src/core/errors';
import { parseSize, validateConfig } from '../../src/core/presets';
import { signRequest } from '../../src/core/on-demand';
import { derivedPrefixOf } from '../../src/core/source';

describe('validateConfig', () => {
  it('resolves the default presets with their defaults and a stable spec', () => {
    const presets = validateConfig(config);
    expect(presets.map((p) => `${p.name}:${p.width}x${p.height}:${p.fit}:${p.withoutEnlargement}`)).toEqual([
      'thumb:80x80:cover:false',
      'small:300x200:cover:false',
      'medium:600x400:cover:false',
      'large:1024x1024:inside:true',
    ]);
    expect(presets[0]!.spec).toBe('80x80-cover-auto-q82');
    expect(validateConfig(config)[3]!.spec).toBe(presets[3]!.spec);
  });

  it('refuses a bad config with every problem named', () => {
    const bad = { ...config, presets: { dynamic: { width: 10, height: 10, fit: 'cover' as const }, 'Big One': { width: 0, height: 99999, fit: 'stretch' as never } } };
    expect(() => validateConfig(bad)).toThrow(ConfigError);
    try {
      validateConfig(bad);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/"dynamic" is reserved/);
      expect(message).toMatch(/preset "Big One": name must match/);
      expect(message).toMatch(/width must be an integer/);
      expect(message).toMatch(/height must be an integer/);
      expect(message).toMatch(/fit must be/);
    }
    expect(() => validateConfig({ ...config, presets: {} })).toThrow(/at least one preset/);
  });
});

describe('on-demand sizes and signatures', () => {
  it('parses WxH (cover), WxH-cover and WxH-inside, and nothing else', () => {
    expect(parseSize('300x200')).toEqual({ width: 300, height: 200, fit: 'cover', text: '300x200' });
    expect(parseSize('300x200-cover')?.text).toBe('300x200');
    expect(parseSize('300x200-inside')).toEqual({ width: 300, height: 200, fit: 'inside', text: '300x200-inside' });
    for (const bad of ['300', '0x10', '300x200-fill', '300X200', ' 300x200', '99999x1', '300x200/', '-1x5']) expect(parseSize(bad), bad).toBeUndefined();
  });

  it('refuses a config whose on-demand sizes are malformed', () => {
    expect(() => validateConfig({ ...config, onDemand: { ...config.onDemand, sizes: ['300x200', 'huge'] } })).toThrow(/onDemand.sizes: "huge"/);
  });

  it('signs <size>/<key> with HMAC-SHA256', () => {
    expect(signRequest('secret', '300x200', 'a b.jpg')).toBe(signRequest('secret', '300x200', 'a b.jpg'));
    expect(signRequest('secret', '300x200', 'a b.jpg')).toMatch(/^[0-9a-f]{64}$/);
    expect(signRequest('secret', '300x200', 'a b.jpg')).not.toBe(signRequest('secret', '300x201', 'a b.jpg'));
    expect(signRequest('secret', '300x200', 'a b.jpg')).not.toBe(signRequest('other', '300x200', 'a b.jpg'));
  });
});

describe('variants (extra formats of a preset)', () => {
  const withFormats = (formats: unknown) => ({ ...config, presets: { thumb: { width: 80, height: 80, fit: 'cover' as const, formats: formats as never } } });

  it('each named format is a preset of its own, <preset>.<format>, same geometry, its own encoder settings and spec', () => {
    const presets = validateConfig(withFormats(['webp', 'avif']));
    expect(presets.map((p) => [p.name, p.format, p.variantOf, p.quality, p.effort])).toEqual([
      ['thumb', 'auto', undefined, config.jpegQuality, undefined],
      ['thumb.webp', 'webp', 'thumb', 80, 4],
      ['thumb.avif', 'avif', 'thumb', 55, 2],
    ]);
    expect(new Set(presets.map((p) => p.spec)).size).toBe(3);
    expect(presets.every((p) => p.width === 80 && p.height === 80 && p.fit === 'cover')).toBe(true);
  });

  it('refuses an unknown format, a format named twice and the primary format again, before anything is written', () => {
    expect(() => validateConfig(withFormats(['jpeg']))).toThrow(/formats may name webp, avif, not "jpeg"/);
    expect(() => validateConfig(withFormats(['webp', 'webp']))).toThrow(/names webp twice/);
    expect(() => validateConfig({ ...config, presets: { thumb: { width: 80, height: 80, fit: 'cover', format: 'webp', formats: ['webp'] } } })).toThrow(/webp is its primary format already/);
    expect(() => validateConfig(withFormats('webp'))).toThrow(/formats must be a list/);
  });

  it('the default config names none yet: every preset is one rendition', () => {
    expect(validateConfig(config).every((p) => p.variantOf === undefined)).toBe(true);
  });
});

describe('on-demand formats', () => {
  const withOnDemand = (formats: unknown) => ({ ...config, onDemand: { ...config.onDemand, formats: formats as never } });

  it('default none; webp and/or avif allowed; anything else refused before anything is written', () => {
    expect(config.onDemand.formats).toBeUndefined();
    expect(() => validateConfig(withOnDemand(['webp', 'avif']))).not.toThrow();
    expect(() => validateConfig(withOnDemand(['png']))).toThrow(/onDemand.formats may name webp, avif, not "png"/);
    expect(() => validateConfig(withOnDemand(['avif', 'avif']))).toThrow(/onDemand.formats names avif twice/);
    expect(() => validateConfig(withOnDemand('webp'))).toThrow(/onDemand.formats must be a list/);
  });

  it('a size\'s variant key (`dynamic/<WxH>.<format>/`) counts among the derived keys a source key must leave room for', () => {
    const plain = { config, presets: validateConfig(config) };
    const withFormats = { config: withOnDemand(['avif']), presets: validateConfig(config) };
    expect(derivedPrefixOf(withFormats) - derivedPrefixOf(plain)).toBe('.avif'.length);
  });
});
