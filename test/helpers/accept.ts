/**
 * What real clients send as `Accept` for an image (an `<img>` request), from MDN's "List of default
 * Accept values", values for an image:
 * https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/Content_negotiation/List_of_default_Accept_values
 * (Chrome; Safari 17+ and 16; Firefox 128+ and 92..127) — and curl's default (`*\/*`).
 */
export const BROWSER_ACCEPT = {
  chrome: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  safari: 'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
  firefox: 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
  firefox92: 'image/avif,image/webp,*/*',
  safari16: 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5',
  curl: '*/*',
} as const;
