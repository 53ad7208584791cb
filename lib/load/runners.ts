// Runners on several machines, started by one command (`mbms-conform load --runner CMD ...`): the run is
// split into slices of the UE population, one per runner, each started through its command prefix (`ssh
// lab-2 npx mbms-conform`, `docker exec gen-3 mbms-conform`, or the local command for processes side by
// side), its JSON summary read from its standard output, and the summaries merged by adding their
// histograms (merge.ts), as `load merge` does with files. Each runner drives the same BM-SC under test from
// its own copy of the SUT profile; the slices never share a UE (their --first-ue ranges are disjoint).
import { spawn } from 'node:child_process';

export interface RunnerSlice {
  /** The command prefix that runs mbms-conform there. */
  command: string;
  /** The arguments of its `load` run (its slice of the UEs and of the rate or concurrency). */
  args: string[];
}

/** A shell word for any text: single-quoted, with a quote inside closed, escaped and reopened. */
export const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * The slices: runner i takes UEs [firstUe + i × size, ...) and its share of the rate or concurrency (the
 * shares add up to the whole; the first runners take the remainder).
 */
export function splitRun(runners: string[], spec: { ues: number; firstUe: number; rate?: number; concurrency?: number }, common: string[]): RunnerSlice[] {
  const n = runners.length;
  const share = (total: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  let first = spec.firstUe;
  return runners.map((command, i) => {
    const ues = share(spec.ues, i);
    const slice = {
      command,
      args: ['load', ...common, '--ues', String(ues), '--first-ue', String(first), '--json',
        ...(spec.concurrency !== undefined ? ['--concurrency', String(share(spec.concurrency, i))] : ['--rate', String(Math.round((spec.rate! / n) * 1000) / 1000)])],
    };
    first += ues;
    return slice;
  });
}

export interface RunnerOutcome { command: string; code: number | null; stdout: string; stderr: string }

/** Runs every slice at once through `/bin/sh -c`; each one's last stderr lines are passed to `onLine`. */
export function runSlices(slices: RunnerSlice[], onLine?: (runner: number, line: string) => void): Promise<RunnerOutcome[]> {
  return Promise.all(slices.map((s, i) => new Promise<RunnerOutcome>((resolve) => {
    const child = spawn('/bin/sh', ['-c', `${s.command} ${s.args.map(shellQuote).join(' ')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr = (stderr + c).slice(-8192); // its last lines: what a failed runner said
      for (const line of c.split('\n')) if (line.trim()) onLine?.(i, line.trim());
    });
    child.once('error', (e) => resolve({ command: s.command, code: null, stdout, stderr: `${stderr}${e.message}\n` }));
    child.once('close', (code) => resolve({ command: s.command, code, stdout, stderr }));
  })));
}
