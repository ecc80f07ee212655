#!/usr/bin/env node
// The `photo-scaler` command: runs the TypeScript CLI (src/cli/main.ts) directly through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
