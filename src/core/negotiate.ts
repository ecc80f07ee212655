/**
 * Content negotiation of a logical URL's format (issue 18): which of a preset's variants (`webp`,
 * `avif`, beside the primary encoding) a request's `Accept` header allows, in the order the client
 * takes them.
 *
 * The rule (formatChoice):
 *   - a format is accepted only when the header names it explicitly (`image/avif`, `image/webp`) with
 *     a q-value above 0; `*` / `image/*` do not count — curl's `Accept: *\/*` gets the primary, and
 *     real browsers list the modern formats they decode by name (MDN, "List of default Accept values",
 *     https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/Content_negotiation/List_of_default_Accept_values,
 *     values for an image request:
 *       Chrome       image/avif,image/webp,image/apng,image/svg+xml,image/*,*\/*;q=0.8
 *       Safari 17+   image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*\/*;q=0.5
 *       Firefox 128+ image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*\/*;q=0.5
 *       Firefox 92+  image/avif,image/webp,*\/*
 *     — Safari 16 lists image/webp only, older Firefox `image/webp,*\/*`);
 *   - `image/webp;q=0` refuses WebP even when a wildcard would allow it (RFC 9110 §12.5.1: "a value of
 *     0 means not acceptable");
 *   - the accepted ones are ordered by q-value, AVIF first on a tie (the smaller at the measured
 *     settings, src/core/presets.ts VARIANT_SETTINGS); the primary comes after them, always.
 *   Media types and parameters are case-insensitive and may carry spaces (RFC 9110 §8.3.1, §12.4.2).
 *
 * The result is normalised to one of five values (`avif,webp`, `webp,avif`, `avif`, `webp`, `orig`):
 * that value — never the raw header — is what the CDN keys its cache on. On AWS the distribution's
 * viewer-request CloudFront Function computes it with this very function (scripts/cloudfront-functions.cjs
 * builds the function from its source) and sets the FORMAT_HEADER request header, which the logical URL
 * cache policy lists; locally `serve`'s CDN view does the same (src/local/cdn.ts).
 */
import { VARIANT_FORMATS, type VariantFormat } from './layout';

/** The request header carrying the normalised choice from the CDN's edge function to the resolver. */
export const FORMAT_HEADER = 'x-photo-format';

/** The primary encoding only: no variant accepted. */
export const PRIMARY_CHOICE = 'orig';

/**
 * The normalised choice for an `Accept` header: the variant formats the client takes, best first,
 * comma-joined, or `orig`.
 *
 * It runs unchanged as part of the distribution's CloudFront Function (cloudfront-js-2.0): self-contained,
 * no imports, no named inner functions.
 */
export function formatChoice(accept: string | undefined | null): string {
  const q = { avif: -1, webp: -1 } as Record<string, number>;
  const ranges = typeof accept === 'string' ? accept.toLowerCase().split(',') : [];
  for (let i = 0; i < ranges.length; i++) {
    const parts = ranges[i]!.split(';');
    const type = parts[0]!.trim();
    const format = type === 'image/avif' ? 'avif' : type === 'image/webp' ? 'webp' : '';
    if (format === '') continue;
    let weight = 1;
    for (let j = 1; j < parts.length; j++) {
      const param = parts[j]!.trim();
      const eq = param.indexOf('=');
      if (eq !== -1 && param.slice(0, eq).trim() === 'q') {
        const value = Number(param.slice(eq + 1).trim());
        weight = value >= 0 && value <= 1 ? value : 0;
      }
    }
    // Named twice: the most specific rule of RFC 9110 cannot tell them apart; the lower one wins.
    q[format] = q[format]! < 0 ? weight : Math.min(q[format]!, weight);
  }
  const avif = q.avif! > 0;
  const webp = q.webp! > 0;
  if (avif && webp) return q.webp! > q.avif! ? 'webp,avif' : 'avif,webp';
  if (avif) return 'avif';
  if (webp) return 'webp';
  return 'orig';
}

/** A choice as it arrives (the edge function's header): the formats, best first; undefined when it is not one formatChoice makes. */
export function parseChoice(value: string | undefined): VariantFormat[] | undefined {
  if (value === undefined) return undefined;
  const text = value.trim().toLowerCase();
  if (text === PRIMARY_CHOICE) return [];
  const formats = text.split(',');
  if (formats.length > VARIANT_FORMATS.length || new Set(formats).size !== formats.length) return undefined;
  return formats.every((format) => (VARIANT_FORMATS as readonly string[]).includes(format)) ? (formats as VariantFormat[]) : undefined;
}

/** The formats a request takes, best first: the edge function's header when it is a valid choice, else computed from Accept. */
export function acceptedFormats(request: { format?: string; accept?: string }): VariantFormat[] {
  return parseChoice(request.format) ?? parseChoice(formatChoice(request.accept))!;
}
