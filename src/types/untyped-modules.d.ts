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
