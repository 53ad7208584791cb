// Benchmark of `mbms-conform analyze` on a retransmission storm, side by side with tshark's structural
// MIKEY decode of the same file in the same run. The capture: one BM-SC endpoint sending one UE an endless
// cycle of an MSK message with V=1, a solicited-pull trigger and another MSK message, the same counters
// over and over, no ACK, every MAC valid under the UE's MUK (a capture a lab meets in a load test). analyze
// verifies every MAC and decrypts every key; tshark (`-d udp.port==4359,mikey -T fields -e mikey.type`)
// decodes the MIKEY structure only. Both run under /usr/bin/time -v (wall time, peak RSS).
//
//   npx tsx bench/storm.ts [messages ...]        # default 30000 100000; STORM_KEEP=1 keeps the files
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceProfile } from '../lib/mbms/index.ts';
import { SyntheticCapture } from '../lib/suite/offline/synthetic.ts';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const KS_NAF = randomBytes(32);
const BTID = 'storm@bsf.example.com';

/**
 * Runs a command under /usr/bin/time -v; returns wall seconds, peak RSS (MiB) and the exit status.
 * `stdoutFile`: its standard output goes to that file (the NDJSON of --json), not into this process.
 */
function timed(cmd: string, args: string[], stdoutFile?: string): { seconds: number; rssMb: number; status: number | null; stdout: string } {
  const out = stdoutFile ? openSync(stdoutFile, 'w') : 'pipe';
  const run = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  const field = (name: string) => new RegExp(`${name}: (.+)`).exec(run.stderr)?.[1]?.trim();
  const wall = (field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)') ?? '0:0').split(':').map(Number);
  const seconds = wall.length === 3 ? wall[0]! * 3600 + wall[1]! * 60 + wall[2]! : wall[0]! * 60 + wall[1]!;
  return { seconds, rssMb: Number(field('Maximum resident set size \\(kbytes\\)')) / 1024, status: run.status, stdout: run.stdout };
}

const rows: string[] = [];
const jsonRows: string[] = [];
for (const messages of sizes.length ? sizes : [30_000, 100_000]) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-storm-'));
  const profile = referenceProfile();
  const capture = join(dir, 'storm.pcap');
  const c = new SyntheticCapture(capture, { profile, btid: BTID, ksNaf: KS_NAF });
  c.step = 0.05;
  const msk = randomBytes(16);
  const rand = randomBytes(16);
  // The same three messages, byte for byte, again and again: no ACK ever comes.
  const first = c.msk({ counter: 1, mskId: 0x00010001, msk, rand });
  const trigger = c.trigger({ counter: 2 });
  const second = c.msk({ counter: 3, mskId: 0x00010002, msk: randomBytes(16), rand });
  const cycle = [first.bytes, trigger.bytes, second.bytes];
  for (let i = 3; i < messages; i++) c.tap.udp(c.bmsc.mikey, c.ue.mikey, cycle[i % 3]!, (c.now += c.step));
  c.close();
  const keys = join(dir, 'keys.yaml');
  writeFileSync(keys, `ues:\n  - { btid: "${BTID}", ksNaf: ${KS_NAF.toString('hex')} }\n`);
  const profileFile = join(dir, 'profile.yaml');
  writeFileSync(profileFile, JSON.stringify({ retransmission: profile.retransmission, timers: profile.timers }));
  const size = statSync(capture).size;
  const a = timed(process.execPath, ['bin/mbms-conform.js', 'analyze', capture, '--profile', profileFile, '--keys', keys, '--no-allure']);
  const t = timed('tshark', ['-r', capture, '-d', `udp.port==${c.ue.mikey.port},mikey`, '-T', 'fields', '-e', 'mikey.type']);
  const verdict = /Verdict: (\S+)/.exec(a.stdout)?.[1] ?? `none (exit ${a.status})`;
  rows.push(`| ${messages.toLocaleString('en')} | ${(size / 1e6).toFixed(1)} MB | ${a.seconds.toFixed(1)} s | ${t.seconds.toFixed(1)} s | ${(a.seconds / t.seconds).toFixed(2)} | ${a.rssMb.toFixed(0)} / ${t.rssMb.toFixed(0)} MiB | ${verdict}, exit ${a.status} |`);
  console.log(rows.at(-1));
  // --json (NDJSON) into a file: one line per procedure instance, then the summary line
  const ndjson = join(dir, 'analysis.ndjson');
  const j = timed(process.execPath, ['bin/mbms-conform.js', 'analyze', capture, '--profile', profileFile, '--keys', keys, '--no-allure', '--json'], ndjson);
  const text = readFileSync(ndjson, 'utf8');
  const last = JSON.parse(text.slice(text.lastIndexOf('\n', text.length - 2) + 1)) as { record: string; verdict: string };
  jsonRows.push(`| ${messages.toLocaleString('en')} | ${j.seconds.toFixed(1)} s | ${j.rssMb.toFixed(0)} MiB | ${(text.match(/\n/g)?.length ?? 0).toLocaleString('en')} lines, ${(text.length / 1e6).toFixed(1)} MB | ${last.record} ${last.verdict}, exit ${j.status} |`);
  console.log(jsonRows.at(-1));
  if (process.env.STORM_KEEP) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
console.log(`\nnode ${process.version}; ${new Date().toISOString()}\n`);
console.log('| messages | capture | analyze | tshark | ratio | peak RSS analyze / tshark | analyze verdict |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\n| messages | analyze --json | peak RSS | NDJSON written | last line |\n|---|---|---|---|---|');
for (const row of jsonRows) console.log(row);
