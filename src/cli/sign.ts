import type { Command } from 'commander';
import { config } from '../config';
import { signRequest } from '../core/on-demand';
import { parseSize } from '../core/presets';
import { encodeKeyPath } from '../core/cdn';

export function registerSign(program: Command): void {
  program
    .command('sign <size> <key>')
    .description(`print the signed on-demand path for a size and a key (secret from --secret or $${config.onDemand.signingSecretEnv})`)
    .option('--secret <secret>', 'the HMAC-SHA256 signing secret')
    .option('--base-url <url>', 'prefix the path with the website URL')
    .action((sizeText: string, key: string, flags: { secret?: string; baseUrl?: string }) => {
      const secret = flags.secret ?? process.env[config.onDemand.signingSecretEnv];
      if (!secret) throw new Error(`no secret: pass --secret or set ${config.onDemand.signingSecretEnv}`);
      const size = parseSize(sizeText);
      if (!size) throw new Error(`malformed size "${sizeText}": use WxH or WxH-inside`);
      const path = `/dynamic/${size.text}/${encodeKeyPath(key)}?sig=${signRequest(secret, size.text, key)}`;
      process.stdout.write(`${(flags.baseUrl ?? '').replace(/\/+$/, '')}${path}\n`);
    });
}
