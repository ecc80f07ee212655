/**
 * The command line's wiring (src/cli/main.ts): each command's module is loaded when that command runs
 * (what it saves is measured by bench --only plan), help lists every command in its order, and a name
 * that is no command is refused with that help.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../scripts/photo-scaler.mjs');
const COMMANDS = ['run', 'serve', 'demo', 'sign', 'estimate', 'plan', 'verify', 'redrive', 'repair', 'prune', 'report', 'start', 'status', 'inventory'];

describe('photo-scaler', () => {
  it('lists every command in --help, in order', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help'], { timeout: 60_000 });
    const listed = [...stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((match) => match[1]).filter((name) => name !== 'help');
    expect(listed).toEqual(COMMANDS);
  }, 60_000);

  it('runs a command with only its own module registered: its help, not the program\'s', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'sign', '--help'], { timeout: 60_000 });
    expect(stdout).toMatch(/^Usage: photo-scaler sign \[options\] <size> <key>/);
  }, 60_000);

  it('refuses a name that is no command, with the help', async () => {
    await expect(run(process.execPath, [BIN, 'nosuch'], { timeout: 60_000 })).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown command 'nosuch'/) });
  }, 60_000);
});
