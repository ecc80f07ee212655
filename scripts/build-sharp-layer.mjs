#!/usr/bin/env node
// Builds the sharp Lambda layer (layers/sharp/nodejs/node_modules) for Lambda's linux-arm64, from the
// npm registry only: sharp's native binaries come in its @img/* npm packages. Idempotent: skips the
// install when the layer already holds the same sharp version with its arm64 binary.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const layer = join(root, 'layers/sharp/nodejs');
const version = JSON.parse(readFileSync(join(root, 'node_modules/sharp/package.json'), 'utf8')).version;
const platform = 'linux-arm64';
const binaryDir = join(layer, `node_modules/@img/sharp-${platform}/lib`);

const installed = () => {
  const pkg = join(layer, 'node_modules/sharp/package.json');
  return existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).version === version && existsSync(binaryDir) && readdirSync(binaryDir).some((f) => f.endsWith('.node'));
};

if (installed()) {
  console.log(`sharp layer: sharp ${version} for ${platform} already in ${layer}`);
  process.exit(0);
}
mkdirSync(layer, { recursive: true });
writeFileSync(join(layer, 'package.json'), `${JSON.stringify({ name: 'photo-scaler-sharp-layer', private: true, dependencies: { sharp: version } }, null, 2)}\n`);
console.log(`sharp layer: installing sharp ${version} for ${platform} into ${layer}`);
execFileSync('npm', ['install', '--prefix', layer, '--os=linux', '--cpu=arm64', '--libc=glibc', '--omit=dev', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts'], {
  stdio: 'inherit',
});
if (!installed()) {
  console.error(`sharp layer: ${binaryDir} has no .node binary after the install; Lambda could not load sharp`);
  process.exit(1);
}
console.log('sharp layer: ready');
