// The distribution's CloudFront Functions, as serverless.yml embeds them (`${file(...):viewerRequest}`):
// built from the TypeScript functions themselves (src/core/cdn.ts), so the code CloudFront runs is the
// code the local CDN view and the tests run. Runtime cloudfront-js-2.0.
'use strict';

const { require: tsRequire } = require('tsx/cjs/api');

const { canonicalUri } = tsRequire('../src/core/cdn.ts', __filename);
const { formatChoice, FORMAT_HEADER } = tsRequire('../src/core/negotiate.ts', __filename);

/**
 * viewer-request: every URI to its canonical spelling, and the Accept header's normalised format
 * choice (src/core/negotiate.ts) in its own header — the one the logical URL cache policy keys on —
 * before the cache is consulted. A viewer's own value of that header is always overwritten. Headers
 * in the event are lowercase, each `{ value }` (CloudFront Developer Guide, "CloudFront Functions
 * event structure": https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html).
 */
const viewerRequest = [
  `var canonicalUri = ${canonicalUri.toString()};`,
  `var formatChoice = ${formatChoice.toString()};`,
  'function handler(event) {',
  '  var request = event.request;',
  '  var canonical = canonicalUri(request.uri);',
  '  if (canonical !== null) request.uri = canonical;',
  '  var accept = request.headers.accept;',
  `  request.headers[${JSON.stringify(FORMAT_HEADER)}] = { value: formatChoice(accept ? accept.value : undefined) };`,
  '  return request;',
  '}',
  '',
].join('\n');

module.exports = { viewerRequest };
