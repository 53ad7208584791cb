// Benchmark of `mbms-conform analyze` on a large synthetic capture: ~1,000,000 packets, mostly MTK
// messages (6.3.3) under MSKs rotated by pushes (6.3.2.1), with an HTTP MSK request (6.3.1) every
// ~10,000 packets. The capture is written by lib/suite/offline's SyntheticCapture (TapRecorder, real
// MIKEY messages from lib/mikey, real Digest from lib/digest), then the CLI judges it in a fresh process
// under /usr/bin/time -v (wall time, peak RSS). Every message is valid, so the expected verdict is PASS.
//
//   npx tsx bench/analyze.ts [packets]        # default 1,000,000
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceProfile } from '../lib/mbms/index.ts';
import { SyntheticCapture } from '../lib/suite/offline/synthetic.ts';
import { buildIsCurrent } from '../tools/build-state.mjs';

// The figures are those of the compiled command: bin/mbms-conform.js runs the sources through tsx (slower,
// more memory, tsx's own threads) when dist/ is older than a source, so a stale build stops the bench.
if (!(await buildIsCurrent(new URL('../', import.meta.url)))) {
  console.error('dist/ is not current: run `npm run build` first (the bench measures the compiled command)');
  process.exit(2);
}
const target = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'bench-analyze-'));
const KS_NAF = randomBytes(32);
const BTID = 'bench@bsf.example.com';
const profile = referenceProfile();
profile.retransmission = { intervalMs: 150, count: 2, freshTs: true };

const capture = join(dir, 'bench.pcap');
const t0 = performance.now();
const c = new SyntheticCapture(capture, { profile, btid: BTID, ksNaf: KS_NAF });
c.step = 0.2; // 0.2 ms between consecutive packets: 1,000,000 packets span ~200 s of capture time
let mukCounter = 0;
let mskNumber = 0;
let msk = randomBytes(16);
let rand = randomBytes(16);
let mskCounter = 0;
let mtkId = 0;
let requests = 0;
let pushes = 0;
let mtks = 0;
const rotate = () => {
  // a new MSK pushed and acknowledged; MTK messages then run under it (MTK ID and counter restart)
  mskNumber++;
  msk = randomBytes(16);
  rand = randomBytes(16);
  const m = c.msk({ counter: ++mukCounter, mskId: 0x00010000 + mskNumber, msk, rand });
  c.advance(2).ack(m.bytes);
  c.advance(400); // the push's ACK window closes before the next MIKEY message
  mskCounter = 0;
  mtkId = 0;
  pushes++;
};
rotate();
while (c.tap.frames < target - 20) {
  if (c.tap.frames % 10_000 < 3 && c.tap.frames > 100) {
    // an MSK request for the current MSK: POST, 401, authorised POST, 200 OK, MSK message, ACK
    c.advance(50).mskRequest({ mskIds: [0x00010000 + mskNumber] });
    const m = c.advance(5).msk({ counter: ++mukCounter, mskId: 0x00010000 + mskNumber, msk, rand });
    c.advance(2).ack(m.bytes);
    c.advance(1100); // T_deliver of the request elapses before the next MSK message
    requests++;
  }
  if (mtkId === 60_000) rotate(); // MTK ID is 2 octets (O13): a new MSK before it would wrap
  c.mtk({ counter: ++mskCounter, mskId: 0x00010000 + mskNumber, mtkId: ++mtkId, msk, mskRand: rand });
  mtks++;
}
c.advance(1000);
const frames = c.close();
const writeSeconds = (performance.now() - t0) / 1000;
const size = statSync(capture).size;
const keys = join(dir, 'keys.yaml');
writeFileSync(keys, `ues:\n  - { btid: "${BTID}", ksNaf: ${KS_NAF.toString('hex')} }\n`);
const profileFile = join(dir, 'profile.yaml');
writeFileSync(profileFile, JSON.stringify({ retransmission: profile.retransmission, timers: profile.timers }));
console.log(`node ${process.version}; capture ${frames} frames (${mtks} MTK messages, ${pushes} pushes, ${requests} HTTP MSK requests), ${(size / 1e6).toFixed(1)} MB, written in ${writeSeconds.toFixed(1)} s`);

const run = spawnSync('/usr/bin/time', ['-v', process.execPath, 'bin/mbms-conform.js', 'analyze', capture, '--profile', profileFile, '--keys', keys, '--no-allure'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const stats = run.stderr;
const field = (name: string) => new RegExp(`${name}: (.+)`).exec(stats)?.[1]?.trim();
const rssMb = Number(field('Maximum resident set size \\(kbytes\\)')) / 1024;
const wall = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)') ?? '?';
const [m, s] = wall.split(':').map(Number);
const seconds = (m ?? 0) * 60 + (s ?? 0);
const lines = run.stdout.split('\n');
const procedures = lines.filter((l) => /^  (PASS|FAIL|INCONC|ERROR)\s/.test(l));
console.log(lines.filter((l) => /^(mbms-conform analyze|Verdict:)/.test(l)).join('\n'));
for (const kind of ['msk-request', 'msk-push', 'mtk-update']) console.log(`  ${kind}: ${procedures.filter((l) => l.includes(`${kind}#`)).length} instances`);
console.log(lines.filter((l) => /^  (mtk\.silence|mikey\.mac|counter\.msk|digest\.response) /.test(l)).join('\n'));
console.log(`analyze: exit ${run.status}, ${seconds.toFixed(1)} s wall, ${(frames / seconds).toFixed(0)} packets/s, peak RSS ${rssMb.toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
