/**
 * The CloudFormation custom resource protocol (CloudFormation User Guide, "Custom resources" and
 * "Custom resource response objects"): CloudFormation invokes the function with a request (Create,
 * Update or Delete, the resource's properties, a pre-signed ResponseURL) and waits until a response
 * is PUT to that URL — or until the resource times out, an hour by default, and the stack rolls back.
 * So a response is always sent: on success, on failure, and before the function itself times out.
 *
 * On Update, a PhysicalResourceId other than the old one replaces the resource: CloudFormation later
 * sends a Delete for the old id with the old properties.
 */
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse, Context } from 'aws-lambda';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A request from CloudFormation: Create, Update (with OldResourceProperties) or Delete (with PhysicalResourceId). */
export type CustomResourceEvent = CloudFormationCustomResourceEvent;

export type CustomResourceResponse = CloudFormationCustomResourceResponse;

/** The resource's id: an Update or Delete names it; a Create has none yet. */
export function existingPhysicalId(event: CustomResourceEvent): string | undefined {
  return event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
}

/** The Lambda context fields used here (absent in tests and when invoked by hand). */
export type CustomResourceContext = Partial<Pick<Context, 'logStreamName' | 'getRemainingTimeInMillis'>>;

export interface Outcome {
  physicalResourceId: string;
  data?: Record<string, string>;
}

/** A response body must stay under 4,096 bytes: long reasons are cut. */
const MAX_REASON = 2_000;
/** Time kept back to send the response when the work has not finished. */
const RESPONSE_MARGIN_MS = 5_000;

/**
 * Runs `work` for the request and PUTs its response to the ResponseURL; a failure (or running out
 * of time) is answered FAILED with its message as the Reason. Resolves with the response sent.
 */
export async function answerCustomResource(
  event: CustomResourceEvent,
  context: CustomResourceContext,
  work: (event: CustomResourceEvent) => Promise<Outcome>,
  send: (url: string, body: string) => Promise<void> = putResponse,
): Promise<CustomResourceResponse> {
  const base = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
  // A Create that fails has no resource yet: its id is what a rollback's Delete will name.
  const fallbackId = existingPhysicalId(event) ?? `${event.LogicalResourceId}-${event.RequestId}`.slice(0, 1024);
  let response: CustomResourceResponse;
  try {
    const outcome = await withDeadline(work(event), deadlineMs(context));
    response = { ...base, Status: 'SUCCESS', PhysicalResourceId: outcome.physicalResourceId, ...(outcome.data ? { Data: outcome.data } : {}) };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const where = context.logStreamName ? ` (CloudWatch log stream ${context.logStreamName})` : '';
    response = { ...base, Status: 'FAILED', PhysicalResourceId: fallbackId, Reason: `${message}${where}`.slice(0, MAX_REASON) };
  }
  await send(event.ResponseURL, JSON.stringify(response));
  return response;
}

function deadlineMs(context: CustomResourceContext): number | undefined {
  const remaining = context.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : Math.max(1_000, remaining - RESPONSE_MARGIN_MS);
}

async function withDeadline<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not finished within ${Math.round(ms / 1000)} s, the function's time left`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** PUT with an empty Content-Type, as the pre-signed URL was signed for. */
export function putResponse(url: string, body: string): Promise<void> {
  const target = new URL(url);
  const request = target.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const call = request(
      target,
      { method: 'PUT', headers: { 'Content-Type': '', 'Content-Length': Buffer.byteLength(body) }, timeout: 10_000 },
      (response) => {
        response.resume();
        response.on('end', () => {
          if ((response.statusCode ?? 0) >= 300) reject(new Error(`the response URL answered ${response.statusCode}`));
          else resolve();
        });
      },
    );
    call.on('timeout', () => call.destroy(new Error('the response URL did not answer within 10 s')));
    call.on('error', reject);
    call.end(body);
  });
}
