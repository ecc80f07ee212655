/**
 * `photo-scaler serve`: the library website and the on-demand API on 127.0.0.1, wired as on AWS —
 * the website's routing rule sends a 404 under `dynamic/` with a 307 to the API, whose handler
 * answers 301 back to the website.
 */
import { config as defaultConfig } from '../config';
import { DYNAMIC_PREFIX, type OnDemandContext } from '../core/on-demand';
import { makeOnDemandHandler } from '../handlers/on-demand';
import { type LocalApi, startLocalApi } from './api';
import { buildReport } from './report';
import { renderReportHtml } from './report-html';
import { LOCAL_NAMES, type LocalStack } from './stack';

/** Where `serve` shows the report of the last run. */
export const REPORT_PATH = '/_report';
import { type RoutingRule, startWebsite, type Website } from './website';

export interface LocalServer {
  website: Website;
  api: LocalApi;
  close(): Promise<void>;
}

export interface LocalServerOptions {
  port?: number;
  apiPort?: number;
  /** Defaults to the environment variable named by config.onDemand.signingSecretEnv. */
  signingSecret?: string;
}

/** The routing rule serverless.yml gives the library bucket, pointed at a given API host. */
export function dynamicRoutingRule(apiHost: string, protocol: 'http' | 'https'): RoutingRule {
  return {
    RoutingRuleCondition: { KeyPrefixEquals: `${DYNAMIC_PREFIX}/`, HttpErrorCodeReturnedEquals: '404' },
    RedirectRule: { HostName: apiHost, Protocol: protocol, HttpRedirectCode: '307' },
  };
}

export async function startLocalServer(stack: LocalStack, options: LocalServerOptions = {}): Promise<LocalServer> {
  const context: OnDemandContext = {
    ...stack.context,
    sourceBucket: LOCAL_NAMES.sourceBucket,
    signingSecret: options.signingSecret ?? (process.env[(stack.context.config ?? defaultConfig).onDemand.signingSecretEnv] || undefined),
  };
  let websiteUrl = '';
  const api = await startLocalApi(makeOnDemandHandler(() => ({ context, websiteUrl }), stack.telemetry), options.apiPort ?? 0);
  try {
    const website = await startWebsite({
      store: stack.store,
      bucket: LOCAL_NAMES.libraryBucket,
      port: options.port ?? 0,
      routingRules: [dynamicRoutingRule(api.host, 'http')],
      // The report of the last run, built afresh on each request; its images load from this website.
      pages: { [REPORT_PATH]: async () => renderReportHtml(await buildReport(stack), '') },
    });
    websiteUrl = website.url;
    return {
      website,
      api,
      close: async () => {
        await website.close();
        await api.close();
      },
    };
  } catch (error) {
    await api.close();
    throw error;
  }
}
