import type { Command } from 'commander';
import { config } from '../config';
import { dynamicName } from '../core/layout';
import { signRequest } from '../core/on-demand';
import { parseSize } from '../core/presets';
import { encodeKeyPath } from '../core/cdn';

export function registerSign(program: Command): void {
  program
    .command('sign <size> <key>')
    .description(`print the signed on-demand path for a size of onDemand.sizes and a key (secret from --secret or $${config.onDemand.signingSecretEnv})`)
    .option('--secret <secret>', 'the HMAC-SHA256 signing secret')
    .option('--base-url <url>', 'prefix the path with the website URL')
    .action((sizeText: string, key: string, flags: { secret?: string; baseUrl?: string }) => {
      const secret = flags.secret ?? process.env[config.onDemand.signingSecretEnv];
      if (!secret) throw new Error(`no secret: pass --secret or set ${config.onDemand.signingSecretEnv}`);
      const size = parseSize(sizeText);
      if (!size) throw new Error(`malformed size "${sizeText}": use WxH or WxH-inside`);
      // Only what the on-demand path renders (the same allowlist and comparison as checkDynamicRequest):
      // a signed URL for any other size would only ever be refused with 400.
      if (!config.onDemand.sizes.map((allowed) => parseSize(allowed)?.text).includes(size.text)) {
        throw new Error(`size ${size.text} is not allowed; allowed: ${config.onDemand.sizes.join(', ')} (onDemand.sizes in src/config.ts)`);
      }
      const path = `/${dynamicName(size.text)}/${encodeKeyPath(key)}?sig=${signRequest(secret, size.text, key)}`;
      process.stdout.write(`${(flags.baseUrl ?? '').replace(/\/+$/, '')}${path}\n`);
    });
}
