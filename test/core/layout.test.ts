/**
 * src/core/layout.ts: the catalog sort key's kinds, the one list of reserved names, and that the
 * deployed configuration (serverless.yml, statemachines/migrate.asl.yaml) spells the same prefixes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CollectionTag, parse, type ScalarTag } from 'yaml';
import { config } from '../../src/config';
import { ConfigError, PhotoError } from '../../src/core/errors';
import { assetKey, assetSha256, derivedPrefixBytes, validateSourceKey } from '../../src/core/keys';
import {
  ASSETS,
  ASSETS_PREFIX,
  CLAIM,
  DYNAMIC,
  dynamicName,
  FAILURE,
  INVENTORY,
  isImageRow,
  LIBRARY_PREFIXES,
  ORIGINAL,
  RESERVED_NAMES,
  rowKind,
  RUNS,
} from '../../src/core/layout';
import { validateConfig } from '../../src/core/presets';
import { loadAslFile, SOURCES_ASL_FILE } from '../helpers/definition';

type AnyObject = Record<string, any>;

const ROOT = join(import.meta.dirname, '../..');
const sha = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';

describe('rowKind', () => {
  it('classifies every value the sort key takes', () => {
    expect(rowKind(ORIGINAL)).toEqual({ kind: 'original' });
    expect(rowKind('thumb')).toEqual({ kind: 'preset', name: 'thumb' });
    expect(rowKind('dynamic/300x200')).toEqual({ kind: 'dynamic', size: '300x200' });
    expect(rowKind(dynamicName('640x480-inside'))).toEqual({ kind: 'dynamic', size: '640x480-inside' });
    expect(rowKind('#failure')).toEqual({ kind: 'failure' });
    expect(rowKind('#claim')).toEqual({ kind: 'claim' });
    expect(rowKind('#something-else')).toEqual({ kind: 'internal', name: '#something-else' });
  });

  it('names the sort key values as the table holds them', () => {
    expect([ORIGINAL, FAILURE, CLAIM, dynamicName('300x200')]).toEqual(['original', '#failure', '#claim', 'dynamic/300x200']);
  });

  it('counts originals, crops and on-demand sizes as image rows; failures and claims not', () => {
    expect([ORIGINAL, 'thumb', 'dynamic/300x200'].map(isImageRow)).toEqual([true, true, true]);
    expect([FAILURE, CLAIM, '#other'].map(isImageRow)).toEqual([false, false, false]);
  });

  it('classifies every configured preset name as a preset, never as a reserved kind', () => {
    for (const preset of validateConfig(config)) expect(rowKind(preset.name)).toEqual({ kind: 'preset', name: preset.name });
  });
});

describe('reserved names (one list)', () => {
  it('is the library prefixes plus the original row', () => {
    expect(LIBRARY_PREFIXES).toEqual([ASSETS, RUNS, DYNAMIC, INVENTORY]);
    expect(LIBRARY_PREFIXES).toEqual(['assets', 'runs', 'dynamic', 'inventory']);
    expect(RESERVED_NAMES).toEqual([...LIBRARY_PREFIXES, ORIGINAL]);
  });

  it('refuses every reserved name as a preset name', () => {
    for (const name of RESERVED_NAMES) {
      const bad = { ...config, presets: { ...config.presets, [name]: { width: 10, height: 10, fit: 'cover' as const } } };
      expect(() => validateConfig(bad), name).toThrow(ConfigError);
      expect(() => validateConfig(bad), name).toThrow(`preset "${name}": "${name}" is reserved`);
    }
  });

  it('refuses every library prefix as the first folder of a source key', () => {
    for (const prefix of LIBRARY_PREFIXES) {
      expect(() => validateSourceKey(`${prefix}/x.jpg`, []), prefix).toThrow(PhotoError);
      expect(() => validateSourceKey(`${prefix}/x.jpg`, []), prefix).toThrow(`key starts with "${prefix}/", a prefix the library uses for its own objects`);
      // A file of that name (no folder) is an ordinary key.
      expect(() => validateSourceKey(prefix, [])).not.toThrow();
    }
  });

  it('takes `original/…` as a source key: it is a row, not a prefix of the bucket (README names the four prefixes)', () => {
    expect(() => validateSourceKey(`${ORIGINAL}/x.jpg`, ['thumb'])).not.toThrow();
  });
});

describe('key names built from the layout', () => {
  it('asset keys start with assets/ and name their sha-256', () => {
    expect(ASSETS_PREFIX).toBe(`${ASSETS}/`);
    const key = assetKey(sha, 'jpg');
    expect(key.startsWith(ASSETS_PREFIX)).toBe(true);
    expect(assetSha256(key)).toBe(sha);
    for (const other of [`thumb/ab/cd/ef/${sha}.jpg`, `assets/ab/cd/${sha}.jpg`, `assets/ab/cd/ef/${sha.slice(1)}.jpg`, `assets/ab/cd/ef/${sha}`]) {
      expect(assetSha256(other), other).toBeUndefined();
    }
  });

  it('derived keys are as long as their dynamic/<size>/ prefix', () => {
    expect(derivedPrefixBytes(['thumb'], ['300x200-inside'])).toBe(Buffer.byteLength('dynamic/300x200-inside/'));
  });
});

/** CloudFormation's short-form intrinsics (`!Sub`, `!If`, …) as their long form (`Fn::Sub`, …). */
const CFN_TAGS = ['Ref', 'Sub', 'GetAtt', 'If', 'Equals', 'Not', 'And', 'Or', 'Select', 'Split', 'Join', 'FindInMap', 'Base64', 'ImportValue', 'GetAZs', 'Condition'].flatMap(
  (name): Array<ScalarTag | CollectionTag> => {
    const long = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    return [
      { tag: `!${name}`, resolve: (value: string) => ({ [long]: name === 'GetAtt' ? value.split('.') : value }) },
      { tag: `!${name}`, collection: 'seq', resolve: (seq) => ({ [long]: seq.toJSON() }) },
      { tag: `!${name}`, collection: 'map', resolve: (map) => ({ [long]: map.toJSON() }) },
    ];
  },
);

function loadServerlessYml(): AnyObject {
  return parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { customTags: CFN_TAGS }) as AnyObject;
}

/** Every object anywhere under `value`. */
function* objects(value: unknown): Generator<AnyObject> {
  if (Array.isArray(value)) for (const item of value) yield* objects(item);
  else if (value && typeof value === 'object') {
    yield value as AnyObject;
    for (const item of Object.values(value)) yield* objects(item);
  }
}

/** Every string anywhere under `value`. */
function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (value && typeof value === 'object') for (const item of Object.values(value)) yield* strings(item);
}

function statement(template: AnyObject, sid: string): AnyObject {
  const found = [...objects(template)].filter((object) => object.Sid === sid);
  expect(found, sid).toHaveLength(1);
  return found[0]!;
}

describe('serverless.yml and the state machine use the layout\'s names', () => {
  const yml = loadServerlessYml();
  const resources: AnyObject = yml.resources.Resources;

  it('the ResultWriter writes run results under runs/, which the migrate role may write and the website may not read', () => {
    const writers = [...objects(loadAslFile())].filter((object) => object.ResultWriter).map((object) => object.ResultWriter);
    expect(writers).toHaveLength(1);
    expect(writers[0].Parameters).toEqual({ Bucket: { Ref: 'LibraryBucket' }, Prefix: RUNS });
    expect(statement(resources, 'ResultWriterWritesRunResults').Resource).toEqual({ 'Fn::Sub': `\${LibraryBucket.Arn}/${RUNS}/*` });
    expect(statement(resources, 'RunResultsAreNotPublic').Resource).toEqual({ 'Fn::Sub': `\${LibraryBucket.Arn}/${RUNS}/*` });
    // The sources state machine (issue 20) writes its results there too.
    const sourcesWriters = [...objects(loadAslFile(SOURCES_ASL_FILE))].filter((object) => object.ResultWriter).map((object) => object.ResultWriter);
    expect(sourcesWriters.map((writer) => writer.Parameters)).toEqual([{ Bucket: { Ref: 'LibraryBucket' }, Prefix: RUNS }]);
    expect(statement(resources, 'SourcesResultWriterWritesRunResults').Resource).toEqual({ 'Fn::Sub': `\${LibraryBucket.Arn}/${RUNS}/*` });
  });

  it('CloudFront reads assets/ from the bucket and sends dynamic/ to the resolver', () => {
    const behaviours = [...objects(resources)].find((object) => object.CacheBehaviors)!.CacheBehaviors as AnyObject[];
    expect(behaviours.map((b) => [b.PathPattern, b.TargetOriginId])).toEqual([
      [`${ASSETS}/*`, 'library'],
      [`${DYNAMIC}/*`, 'resolver'],
    ]);
    expect(statement(resources, 'CloudFrontReadsAssets').Resource).toEqual({ 'Fn::Sub': `\${LibraryBucket.Arn}/${ASSETS}/*` });
  });

  it('the website routes a miss under dynamic/ to the on-demand API, whose route is /dynamic/{size}/{key+}', () => {
    const rules = [...objects(resources)].filter((object) => object.RoutingRuleCondition).map((object) => object.RoutingRuleCondition);
    expect(rules).toEqual([{ KeyPrefixEquals: `${DYNAMIC}/`, HttpErrorCodeReturnedEquals: '404' }]);
    const routes = (yml.functions.onDemand.events as AnyObject[]).map((event) => event.httpApi?.path);
    expect(routes).toEqual([`/${DYNAMIC}/{size}/{key+}`]);
  });

  it('inventory reports live under inventoryPrefix (default inventory/): the event filter, lifecycle rule and IAM all use the parameter', () => {
    expect(yml.params.default.inventoryPrefix).toBe(INVENTORY);
    const prefix = '${param:inventoryPrefix}/';
    const filters = [...objects(resources)].filter((object) => object.Name === 'prefix').map((object) => object.Value);
    expect(filters).toEqual([prefix]);
    expect(resources.InventoryBucket.Properties.LifecycleConfiguration.Rules.map((rule: AnyObject) => rule.Prefix)).toEqual([prefix]);
    expect(statement(resources, 'ReadInventoryReports').Resource).toEqual({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::\${param:inventoryBucket}/${prefix}*` });
  });

  it('names no other folder of the library bucket than the layout\'s', () => {
    const folders = new Set<string>();
    for (const text of strings(yml)) {
      for (const match of text.matchAll(/\$\{LibraryBucket\.Arn\}\/([^/*]+)\//g)) folders.add(match[1]!);
    }
    for (const object of objects(resources)) if (typeof object.PathPattern === 'string') folders.add(object.PathPattern.split('/')[0]!);
    expect([...folders].sort()).toEqual([ASSETS, DYNAMIC, RUNS].sort());
    for (const folder of folders) expect(LIBRARY_PREFIXES).toContain(folder);
  });
});

/** Every .ts file under src/, by path relative to the repository. */
function sourceFiles(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('one home', () => {
  it('no module but layout.ts spells a sort key value, compares the sort key, or writes a library prefix as a literal', () => {
    const spelled = [
      /'#(failure|claim)'/,
      /startsWith\('#'\)/,
      /[!=]== (ORIGINAL|FAILURE|CLAIM)\b/,
      /['`]\/?(assets|dynamic|runs|inventory)\//,
      /(\^|\\\/)(assets|dynamic|runs)\\\//,
      /\b(RESERVED_PREFIXES|RESERVED_PRESET_NAMES|DYNAMIC_PREFIX)\b/,
    ];
    const found: string[] = [];
    for (const file of sourceFiles()) {
      if (file.endsWith(join('src', 'core', 'layout.ts'))) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
        const code = line.trim();
        if (code.startsWith('*') || code.startsWith('/*') || code.startsWith('//')) return;
        if (spelled.some((pattern) => pattern.test(code))) found.push(`${file.slice(ROOT.length + 1)}:${index + 1}: ${code}`);
      });
    }
    expect(found).toEqual([]);
  });
});
