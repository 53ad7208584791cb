// The `mbms-conform` command in a child process, as a user runs it (tests of the sub-commands): its exit
// code and what it wrote.
import { spawn } from 'node:child_process';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface CommandRun { code: number | null; stdout: string; stderr: string }

/** Runs `node bin/mbms-conform.js <args>` from the project root, with `stdin` as its input (default none). */
export function runCommand(args: string[], stdin?: string): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/mbms-conform.js', ...args], { cwd: ROOT, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}
