/** Minimal types for the npm packages that ship none (only what this project calls). */
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';
  export default class S3rver {
    constructor(options: { port?: number; address?: string; directory: string; silent?: boolean; configureBuckets?: Array<{ name: string }> });
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** Set once run() resolves. */
    httpServer: Server;
    /** Replaced before run() by the project's own (src/local/object-files.ts). */
    store: { existsObject(bucket: string, key: string): Promise<boolean> };
  }
}

declare module 'dynalite' {
  import type { Server } from 'node:http';
  export default function dynalite(options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }): Server;
}

declare module 'asl-validator' {
  /** Sets a QueryLanguage on every state of `definition`: pass a copy. */
  export default function validator(
    definition: object,
    options?: { checkPaths: boolean; checkArn: boolean },
  ): { isValid: boolean; errors: Array<{ 'Error code': string; Message: string }>; errorsText(separator?: string): string };
}

declare module 'heic-decode' {
  /** One top-level image of the file: its size (after the file's irot/imir/clap transforms) is known before `decode()`. */
  export interface HeicImage {
    width: number;
    height: number;
    /** Decodes to 8-bit interleaved RGBA (alpha 255 where the file has none), transforms applied. */
    decode(): Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
  }
  /** Parses the container (no pixels yet); `dispose()` frees the WebAssembly side. */
  export function all(input: { buffer: Uint8Array }): Promise<HeicImage[] & { dispose(): void }>;
  /** The first image, decoded. */
  export default function decode(input: { buffer: Uint8Array }): Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
}
