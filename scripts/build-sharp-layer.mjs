#!/usr/bin/env node
// Builds the sharp Lambda layer (layers/sharp/nodejs/node_modules) for Lambda's linux-arm64, from the
// npm registry only: sharp's native binaries come in its @img/* npm packages (@img/sharp-linux-arm64,
// @img/sharp-libvips-linux-arm64), which npm installs for a foreign platform when told
// --os/--cpu/--libc. Nothing is compiled and no install script runs.
//
// Idempotent: skips the install when the layer already holds the sharp version installed at the root
// (the lockfile's) with its arm64 binary and libvips. Fails (exit 1) when the binary is missing after
// the install, since Lambda could not load sharp then.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const layer = join(root, 'layers/sharp/nodejs');
const modules = join(layer, 'node_modules');
const platform = 'linux-arm64';
const binaryPackage = join(modules, `@img/sharp-${platform}`);
const libvipsPackage = join(modules, `@img/sharp-libvips-${platform}`);

const readVersion = (dir) => {
  const file = join(dir, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
};
const filesIn = (dir, test) => (existsSync(dir) ? readdirSync(dir).filter(test) : []);

const version = readVersion(join(root, 'node_modules/sharp'));
if (!version) {
  console.error('sharp layer: node_modules/sharp is missing at the repository root; run npm ci first (the layer uses the same sharp version)');
  process.exit(1);
}

/** What is wrong with the layer as it stands; empty when it is ready for Lambda linux-arm64. */
function problems() {
  const found = [];
  const sharp = readVersion(join(modules, 'sharp'));
  if (sharp !== version) found.push(sharp ? `sharp ${sharp} instead of ${version}` : 'no sharp');
  const binaries = filesIn(join(binaryPackage, 'lib'), (f) => f.endsWith('.node'));
  if (binaries.length === 0) found.push(`no .node binary in ${relative(root, join(binaryPackage, 'lib'))}`);
  else if (readVersion(binaryPackage) !== version) found.push(`@img/sharp-${platform} ${readVersion(binaryPackage)} does not match sharp ${version}`);
  if (filesIn(join(libvipsPackage, 'lib'), (f) => f.startsWith('libvips')).length === 0) found.push(`no libvips in ${relative(root, join(libvipsPackage, 'lib'))}`);
  const foreign = filesIn(join(modules, '@img'), (f) => /^sharp-/.test(f) && !f.endsWith(`-${platform}`));
  if (foreign.length > 0) found.push(`binaries for other platforms: ${foreign.join(', ')}`);
  return found;
}

const before = problems();
if (before.length === 0) {
  console.log(`sharp layer: sharp ${version} for ${platform} already in ${relative(root, layer)}; nothing to do`);
  process.exit(0);
}
if (existsSync(modules)) console.log(`sharp layer: rebuilding (${before.join('; ')})`);

mkdirSync(layer, { recursive: true });
writeFileSync(join(layer, 'package.json'), `${JSON.stringify({ name: 'photo-scaler-sharp-layer', private: true, dependencies: { sharp: version } }, null, 2)}\n`);
// A clean install: nothing stale (another version, another platform) is left in the layer.
rmSync(modules, { recursive: true, force: true });
const args = ['install', '--prefix', layer, '--os=linux', '--cpu=arm64', '--libc=glibc', '--omit=dev', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts'];
console.log(`sharp layer: npm ${args.join(' ')}`);
execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { stdio: 'inherit', cwd: layer });

const after = problems();
if (after.length > 0) {
  console.error(`sharp layer: not usable on Lambda ${platform} after the install: ${after.join('; ')}`);
  process.exit(1);
}
const installed = readdirSync(join(modules, '@img')).map((name) => `@img/${name}@${readVersion(join(modules, '@img', name))}`);
console.log(`sharp layer: ready in ${relative(root, layer)}: sharp@${version}, ${installed.join(', ')}`);
