// Benchmark of `mbms-conform analyze` side by side with tshark's structural MIKEY decode of the same file
// in the same run, on two captures a lab meets:
//
//   storm   a retransmission storm: one BM-SC endpoint sending one UE an endless cycle of an MSK message
//           with V=1, a solicited-pull trigger and another MSK message, the same counters over and over,
//           no ACK, every MAC valid under the UE's MUK. Expected verdict FAIL (reused counters, no ACK);
//           three procedure instances however long it lasts.
//   pushes  well-behaved: a key group of 10,000 UEs (10.1.0.0/16), each MSK pushed to every UE with V=1
//           and acknowledged by each (6.3.2.1): half the messages are MSK messages, half ACKs, one
//           procedure instance per push (500,000 at a million messages). Expected verdict PASS.
//
// analyze verifies every MAC (of ACKs too) and decrypts every key; tshark (`-d udp.port==4359,mikey -T
// fields -e mikey.type`) decodes the MIKEY structure only. Both run under /usr/bin/time -v (wall time,
// peak RSS); analyze once with its summary and once with --json (NDJSON into a file).
//
//   npx tsx bench/storm.ts [--shape storm|pushes] [--reader-thread on|off] [messages ...]
//   (default: storm, 30000 100000; STORM_KEEP=1 keeps the files)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { referenceProfile, type MbmsProfile } from '../lib/mbms/index.ts';
import { buildMskMessage, buildVerificationMessage } from '../lib/mikey/index.ts';
import { SyntheticCapture } from '../lib/suite/offline/synthetic.ts';
import { buildIsCurrent } from '../tools/build-state.mjs';

// The figures are those of the compiled command: bin/mbms-conform.js runs the sources through tsx (slower,
// more memory, tsx's own threads) when dist/ is older than a source, so a stale build stops the bench.
if (!(await buildIsCurrent(new URL('../', import.meta.url)))) {
  console.error('dist/ is not current: run `npm run build` first (the bench measures the compiled command)');
  process.exit(2);
}
const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'shape': { type: 'string', default: 'storm' }, 'reader-thread': { type: 'string' } } });
const shape = values.shape;
if (shape !== 'storm' && shape !== 'pushes') throw new Error(`--shape ${shape}: storm or pushes`);
const sizes = positionals.map(Number).filter((n) => n > 0);
const threadArgs = values['reader-thread'] ? ['--reader-thread', values['reader-thread']] : [];

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

/** The storm: three messages, byte for byte, again and again; no ACK ever comes. Returns the keys file text. */
function writeStorm(capture: string, messages: number, profile: MbmsProfile): string {
  const ksNaf = randomBytes(32);
  const btid = 'storm@bsf.example.com';
  const c = new SyntheticCapture(capture, { profile, btid, ksNaf });
  c.step = 0.05;
  const rand = randomBytes(16);
  const first = c.msk({ counter: 1, mskId: 0x00010001, msk: randomBytes(16), rand });
  const trigger = c.trigger({ counter: 2 });
  const second = c.msk({ counter: 3, mskId: 0x00010002, msk: randomBytes(16), rand });
  const cycle = [first.bytes, trigger.bytes, second.bytes];
  for (let i = 3; i < messages; i++) c.tap.udp(c.bmsc.mikey, c.ue.mikey, cycle[i % 3]!, (c.now += c.step));
  c.close();
  return `ues:\n  - { btid: "${btid}", ksNaf: ${ksNaf.toString('hex')} }\n`;
}

/**
 * Pushes of one MSK after another to a key group of `UES` UEs, each acknowledged 1 ms later; UEs are
 * 0.1 ms apart, so a UE's next push comes a second after its last (its ACK window long closed).
 */
const UES = 10_000;
function writePushes(capture: string, messages: number, profile: MbmsProfile): string {
  const c = new SyntheticCapture(capture, { profile, btid: 'unused@bsf.example.com', ksNaf: randomBytes(32) });
  const ues = Array.from({ length: UES }, (_, i) => ({
    btid: `ue${i}@bsf.example.com`, muk: randomBytes(32), counter: 0,
    mikey: { address: `10.1.${i >> 8}.${i & 255}`, port: profile.ports.ueMikey },
  }));
  const pushes = Math.floor(messages / 2);
  for (let p = 0; p < pushes; p++) {
    const round = Math.floor(p / UES);
    const ue = ues[p % UES]!;
    // one MSK (and one RAND, O15) per round for the whole group; a CSB ID per delivery
    const msk = mskOfRound(round);
    const built = buildMskMessage({
      muk: ue.muk, csbId: (0x10000000 + p) >>> 0, counter: ++ue.counter, rand: msk.rand, keyDomainId: c.keyDomainId,
      mskId: 0x00010000 + round, msk: msk.key, v: true, idi: c.naf, idr: ue.btid, profile: profile.mikey,
    });
    const at = c.now + p * 0.1;
    c.tap.udp(c.bmsc.mikey, ue.mikey, built.bytes, at);
    const ack = buildVerificationMessage({ received: built.bytes, psk: ue.muk, profile: profile.mikey });
    c.tap.udp(ue.mikey, c.bmsc.mikey, ack.bytes, at + 1);
  }
  c.close();
  // JSON, as a generator of 10,000 UEs' keys writes it (analyze reads a JSON keys file without the YAML document)
  return JSON.stringify({ ues: ues.map((u) => ({ btid: u.btid, ksNaf: u.muk.toString('hex'), address: u.mikey.address })) });
}
const rounds = new Map<number, { key: Buffer; rand: Buffer }>();
const mskOfRound = (round: number) => {
  let m = rounds.get(round);
  if (!m) rounds.set(round, (m = { key: randomBytes(16), rand: randomBytes(16) }));
  return m;
};

const rows: string[] = [];
const jsonRows: string[] = [];
for (const messages of sizes.length ? sizes : [30_000, 100_000]) {
  const dir = mkdtempSync(join(tmpdir(), `bench-${shape}-`));
  const profile = referenceProfile();
  const capture = join(dir, `${shape}.pcap`);
  const keys = join(dir, shape === 'storm' ? 'keys.yaml' : 'keys.json');
  writeFileSync(keys, shape === 'storm' ? writeStorm(capture, messages, profile) : writePushes(capture, messages, profile));
  const profileFile = join(dir, 'profile.yaml');
  writeFileSync(profileFile, JSON.stringify({ retransmission: profile.retransmission, timers: profile.timers }));
  const size = statSync(capture).size;
  const args = ['bin/mbms-conform.js', 'analyze', capture, '--profile', profileFile, '--keys', keys, '--no-allure', ...threadArgs];
  const a = timed(process.execPath, args);
  const t = timed('tshark', ['-r', capture, '-d', `udp.port==${profile.ports.ueMikey},mikey`, '-T', 'fields', '-e', 'mikey.type']);
  const verdict = /Verdict: (\S+)/.exec(a.stdout)?.[1] ?? `none (exit ${a.status})`;
  const instances = /Procedures \((\d+)\)/.exec(a.stdout)?.[1];
  rows.push(`| ${shape} | ${messages.toLocaleString('en')} | ${(size / 1e6).toFixed(1)} MB | ${a.seconds.toFixed(1)} s | ${t.seconds.toFixed(1)} s | ${(a.seconds / t.seconds).toFixed(2)} | ${a.rssMb.toFixed(0)} / ${t.rssMb.toFixed(0)} MiB | ${verdict}, exit ${a.status}${instances ? `, ${Number(instances).toLocaleString('en')} instances` : ''} |`);
  console.log(rows.at(-1));
  // --json (NDJSON) into a file: one line per procedure instance, then the summary line
  const ndjson = join(dir, 'analysis.ndjson');
  const j = timed(process.execPath, [...args, '--json'], ndjson);
  // the file may be larger than a string can be: lines counted in chunks, the last line read from the end
  const bytes = statSync(ndjson).size;
  let lines = 0;
  for await (const chunk of createReadStream(ndjson)) for (const b of chunk as Buffer) if (b === 0x0a) lines++;
  const tail = Buffer.alloc(Math.min(bytes, 1 << 20));
  const fd = openSync(ndjson, 'r');
  readSync(fd, tail, 0, tail.length, bytes - tail.length);
  closeSync(fd);
  const text = tail.toString('utf8').trimEnd();
  const last = JSON.parse(text.slice(text.lastIndexOf('\n') + 1)) as { record: string; verdict: string };
  jsonRows.push(`| ${shape} | ${messages.toLocaleString('en')} | ${j.seconds.toFixed(1)} s | ${j.rssMb.toFixed(0)} MiB | ${lines.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(1)} MB | ${last.record} ${last.verdict}, exit ${j.status} |`);
  console.log(jsonRows.at(-1));
  if (process.env.STORM_KEEP) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
console.log(`\nnode ${process.version}; ${new Date().toISOString()}${threadArgs.length ? `; analyze ${threadArgs.join(' ')}` : ''}\n`);
console.log('| capture | messages | size | analyze | tshark | ratio | peak RSS analyze / tshark | analyze verdict |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\n| capture | messages | analyze --json | peak RSS | NDJSON written | last line |\n|---|---|---|---|---|---|');
for (const row of jsonRows) console.log(row);
