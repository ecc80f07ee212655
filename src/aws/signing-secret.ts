/**
 * The on-demand signing secret on Lambda: an SSM Parameter Store SecureString, read at run time with
 * Powertools for AWS Lambda's Parameters utility (decrypted, cached in the container), so the
 * template and the function's environment carry only the parameter's name. A configured secret that
 * cannot be read, or is too short to be a secret, is an error — the handler then refuses every
 * request (fails closed) rather than serve unsigned.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { ConfigError } from '../core/errors';

/** A rotated secret takes effect within this long (Powertools' own default is 5 seconds). */
export const SECRET_MAX_AGE_SECONDS = 300;
/** HMAC-SHA256 keys shorter than its 32-byte output weaken it. */
export const MIN_SECRET_BYTES = 32;

export type SecretSource = () => Promise<string>;

export function ssmSigningSecret(parameterName: string, client: SSMClient = new SSMClient({})): SecretSource {
  const provider = new SSMProvider({ awsSdkV3Client: client });
  return async () => {
    let value: unknown;
    try {
      value = await provider.get(parameterName, { decrypt: true, maxAge: SECRET_MAX_AGE_SECONDS });
    } catch (error) {
      // The SDK's error names what failed (ParameterNotFound, AccessDeniedException); never the value.
      const name = (error as { name?: string; cause?: { name?: string } }).cause?.name ?? (error as { name?: string }).name ?? 'Error';
      throw new ConfigError(`signing secret ${parameterName} cannot be read: ${name}`, { cause: error });
    }
    if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) {
      throw new ConfigError(`signing secret ${parameterName} must hold at least ${MIN_SECRET_BYTES} bytes`);
    }
    return value;
  };
}

/** Why no secret can be used: the handler answers 503 (never cached) and makes nothing. */
export const SECRET_UNAVAILABLE = 'the signing secret cannot be read; try again later';

/**
 * The secret a request is checked with: the configured source's (SSM on Lambda), else the context's
 * own (locally, from the environment). Fails closed: `undefined` when a configured source cannot be
 * read — the reason goes to `onError` (a log line naming the error, never a value).
 */
export async function currentSecret(fallback: string | undefined, source: SecretSource | undefined, onError: (reason: string) => void): Promise<{ secret: string | undefined } | undefined> {
  if (!source) return { secret: fallback };
  try {
    return { secret: await source() };
  } catch (error) {
    onError((error as Error).message);
    return undefined;
  }
}
