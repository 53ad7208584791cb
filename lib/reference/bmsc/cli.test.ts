// `mbms-conform reference bmsc` as a user runs it: a real process, real sockets, signals and exit codes.
import { test, expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { callControlApi } from '../common/index.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/mbms-conform.js');
const KS_NAF = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const BOUND = 15_000; // process start includes loading TypeScript through tsx

function config(extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmsc-cli-'));
  const path = join(dir, 'bmsc.yaml');
  writeFileSync(path, [
    'nafFqdn: bmsc.example.com',
    'http: { address: 127.0.0.1, port: 0 }',
    'mikey: { address: 127.0.0.1, port: 0 }',
    'control: { address: 127.0.0.1, port: 0 }',
    'profileBase: reference',
    'stateFile: state.json',
    'users:',
    '  - btid: AbCdEf0123456789@bsf.example.com',
    `    ksNaf: ${KS_NAF}`,
    '    subscriptions: [{ keyDomainId: 001-01, keyGroups: [1] }]',
    extra,
  ].join('\n'));
  return path;
}

interface Run { child: ChildProcess; lines: string[]; stderr: () => string; exit: Promise<number | null>; waitLine(re: RegExp): Promise<string> }

function run(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, 'reference', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString('utf8'); });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child, lines, stderr: () => err, exit,
    waitLine(re) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no line ${re} within ${BOUND} ms; stdout: ${lines.join('\n')} stderr: ${err}`)), BOUND);
        waiters.push({ re, resolve: (l) => { clearTimeout(timer); res(l); } });
      });
    },
  };
}

const endpointOf = (line: string, name: string) => {
  const m = new RegExp(`${name}=([0-9.]+):([0-9]+)`).exec(line)!;
  return { address: m[1]!, port: Number(m[2]) };
};

test('runs, logs one line per protocol event without secrets, stops cleanly on SIGTERM', async () => {
  const r = run(['bmsc', '--config', config()]);
  try {
    const listening = await r.waitLine(/ bmsc listening /);
    const http = endpointOf(listening, 'http');
    const control = endpointOf(listening, 'control');
    expect((await callControlApi(control, 'GET', '/info')).body.role).toBe('bmsc');
    const reply = await fetch(`http://127.0.0.1:${http.port}/keymanagement?requesttype=msk-request`, {
      method: 'POST', headers: { 'content-type': 'application/mbms-msk+xml' }, body: '<mskRequest/>',
    });
    expect(reply.status).toBe(401);
    await r.waitLine(/ bmsc http-response #1 401 missing /);
    expect(r.lines.some((l) => / bmsc http-request #1 127\.0\.0\.1:\d+ POST \/keymanagement\?requesttype=msk-request/.test(l))).toBe(true);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(r.lines.at(-1)).toMatch(/ bmsc stopped$/);
    expect(r.lines.join('\n')).not.toContain(KS_NAF);
    expect(r.lines.join('\n')).not.toContain(Buffer.from(KS_NAF, 'hex').toString('base64'));
  } finally { r.child.kill('SIGKILL'); }
});

test('a configuration error names the file, line and field, exit 2', async () => {
  const path = config('faults: [bmsc-bad-mac, bmsc-no-such-thing]');
  const r = run(['bmsc', '--config', path]);
  expect(await r.exit).toBe(2);
  expect(r.stderr().trim().split('\n')).toHaveLength(1);
  expect(r.stderr()).toMatch(new RegExp(`${path.replace(/[.]/g, '\\.')}:\\d+: faults: unknown bmsc fault 'bmsc-no-such-thing'`));
});

test('a busy port is one line and exit 2', async () => {
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = run(['bmsc', '--config', config(), '--http-port', String(port)]);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toBe(`mbms-conform reference bmsc: cannot listen for MSK requests (HTTP) on 127.0.0.1:${port}: address already in use (another process uses it; pick another port)\n`);
  } finally { blocker.close(); }
});

test('--fault activates a fault and --list-faults documents each with the clause it violates', async () => {
  const list = run(['bmsc', '--list-faults']);
  expect(await list.exit).toBe(0);
  expect(list.lines.join('\n')).toMatch(/bmsc-bad-mac .*\n\s+violates RFC 3830 §5\.2/);
  const r = run(['bmsc', '--config', config(), '--fault', 'bmsc-bad-mac', '--fault', 'bmsc-short-rand']);
  try {
    const listening = await r.waitLine(/ bmsc listening /);
    expect(listening).toContain('faults=bmsc-bad-mac,bmsc-short-rand');
    const faults = await callControlApi(endpointOf(listening, 'control'), 'GET', '/faults');
    expect(faults.body.active).toEqual(['bmsc-bad-mac', 'bmsc-short-rand']);
    r.child.kill('SIGINT');
    expect(await r.exit).toBe(0);
  } finally { r.child.kill('SIGKILL'); }
});
