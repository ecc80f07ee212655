/**
 * `photo-scaler serve`: on 127.0.0.1, wired as on AWS —
 *   the CDN view (src/local/cdn.ts): every logical URL answers 200 with the image, through the
 *     same `resolve` handler the CloudFront origin runs; `/assets/*` straight from the bucket;
 *   the library website (website mode): a pointer answers 301; the routing rule sends a 404 under
 *     `dynamic/` with a 307 to the on-demand API, whose handler answers 301 back to the website.
 */
import { config as defaultConfig } from '../config';
import { DYNAMIC } from '../core/layout';
import type { OnDemandContext } from '../core/on-demand';
import { RenderGate, renderConcurrency } from '../core/render-gate';
import { makeOnDemandHandler } from '../handlers/on-demand';
import { makeResolveHandler } from '../handlers/resolve';
import { type LocalApi, startLocalApi } from './api';
import { type CdnView, startCdnView } from './cdn';
import { ConfigError } from '../core/errors';
import { readLastRun } from './migrate';
import { buildReport } from './report';
import { renderReportHtml } from './report-html';
import { cdnInvalidationLog, LOCAL_NAMES, type LocalStack } from './stack';

/** Where `serve` shows the report of the last run. */
export const REPORT_PATH = '/_report';
const NO_RUN_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>photo-scaler report</title></head><body><h1>No finished run yet</h1>' +
  '<p>There is no finished run in this data dir: run <code>npx photo-scaler run</code>, then reload this page.</p></body></html>';
import { type RoutingRule, startWebsite, type Website } from './website';

export interface LocalServer {
  website: Website;
  api: LocalApi;
  cdn: CdnView;
  close(): Promise<void>;
}

export interface LocalServerOptions {
  port?: number;
  apiPort?: number;
  cdnPort?: number;
  /** Defaults to the environment variable named by config.onDemand.signingSecretEnv. */
  signingSecret?: string;
  /** New sizes rendered at once, by the CDN view and the API together (default: PHOTO_SCALER_RENDER_CONCURRENCY, else the CPUs). */
  renderConcurrency?: number;
}

/** The routing rule serverless.yml gives the library bucket, pointed at a given API host. */
export function dynamicRoutingRule(apiHost: string, protocol: 'http' | 'https'): RoutingRule {
  return {
    RoutingRuleCondition: { KeyPrefixEquals: `${DYNAMIC}/`, HttpErrorCodeReturnedEquals: '404' },
    RedirectRule: { HostName: apiHost, Protocol: protocol, HttpRedirectCode: '307' },
  };
}

export async function startLocalServer(stack: LocalStack, options: LocalServerOptions = {}): Promise<LocalServer> {
  const context: OnDemandContext = {
    ...stack.context,
    sourceBucket: LOCAL_NAMES.sourceBucket,
    signingSecret: options.signingSecret ?? (process.env[(stack.context.config ?? defaultConfig).onDemand.signingSecretEnv] || undefined),
    // One gate for both doors: a crowd on one new size renders it once, distinct sizes a few at a time.
    renderGate: new RenderGate(options.renderConcurrency ?? renderConcurrency()),
  };
  let websiteUrl = '';
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    // The report of the last run, built afresh on each request; its images load through the CDN view.
    // Before any run, a page that says so (readLastRun's message names the data dir: not for a page).
    const report = async () => {
      let last;
      try {
        last = await readLastRun(stack.dataDir);
      } catch (error) {
        if (error instanceof ConfigError) return NO_RUN_PAGE;
        throw error;
      }
      return renderReportHtml(await buildReport(stack, last), cdn.url);
    };
    const cdn = await startCdnView({
      store: stack.store,
      bucket: LOCAL_NAMES.libraryBucket,
      resolver: makeResolveHandler(() => ({ context }), stack.telemetry),
      port: options.cdnPort ?? 0,
      pages: { [REPORT_PATH]: report },
      invalidationLog: cdnInvalidationLog(stack.dataDir),
    });
    closers.push(cdn.close);
    const api = await startLocalApi(makeOnDemandHandler(() => ({ context, websiteUrl }), stack.telemetry), options.apiPort ?? 0);
    closers.push(api.close);
    const website = await startWebsite({
      store: stack.store,
      bucket: LOCAL_NAMES.libraryBucket,
      port: options.port ?? 0,
      routingRules: [dynamicRoutingRule(api.host, 'http')],
      pages: { [REPORT_PATH]: report },
    });
    closers.push(website.close);
    websiteUrl = website.url;
    return { website, api, cdn, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
