import { describe, expect, it } from 'vitest';
import { config } from '../../src/config';
import { ConfigError } from '../../src/core/errors';
import { validateConfig } from '../../src/core/presets';

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
