// The distribution's CloudFront Functions, as serverless.yml embeds them (`${file(...):viewerRequest}`):
// built from the TypeScript functions themselves (src/core/cdn.ts), so the code CloudFront runs is the
// code the local CDN view and the tests run. Runtime cloudfront-js-2.0.
'use strict';

const { require: tsRequire } = require('tsx/cjs/api');

const { canonicalUri } = tsRequire('../src/core/cdn.ts', __filename);

/** viewer-request: every URI to its canonical spelling, before the cache is consulted. */
const viewerRequest = [
  `var canonicalUri = ${canonicalUri.toString()};`,
  'function handler(event) {',
  '  var request = event.request;',
  '  var canonical = canonicalUri(request.uri);',
  '  if (canonical !== null) request.uri = canonical;',
  '  return request;',
  '}',
  '',
].join('\n');

module.exports = { viewerRequest };
