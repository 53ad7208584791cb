// Benchmark of `mbms-conform load` against the embedded reference BM-SC on this machine, generator and
// BM-SC together, with wrk beside it in the same run as the peer: wrk POSTs the same MSK request to the
// same reference BM-SC as fast as it can, which answers each with its 401 challenge — the ceiling of the
// first HTTP leg alone, with no Digest, no second POST, no MIKEY, no judging.
//
//   rates    msk-request open loop at several rates (after a warm-up): completed/s, p50/p99/p99.9, errors,
//            lost ACKs, conformance failures, whether the tester kept its schedule
//   closed   msk-request closed loop at 32 in flight: the saturation throughput
//   push     push-group to 10,000, 30,000 and 100,000 UEs: time until every UE has the new MSK and acknowledged
//   pull     pull-group: the whole group pulls at once (2,000 and 5,000 UEs), and 5,000 and 10,000 UEs spreading
//            their pulls over T_pull (5 s, O20 jitter): time until every UE has the MSK, the 200 OK after the
//            trigger, and whether the tester kept up
//   mtk      mtk-update after the push: 10 s of MTK updates at 1/s and 10/s to 10,000 UEs, at 1/s to 100,000:
//            each UE's wait for its new MTK, the time until every UE had it, MTKs not taken
//
//   npx tsx bench/load.ts [--quick] [--plots] [--only SECTIONS]
//     --quick: shorter runs, push and MTK updates to 10,000 UEs only
//     --plots: the README's plots from the 2,000/s run and the largest push
//     --only peer,rates,closed,push,pull,mtk: those sections (results written to load-DATE-SECTIONS.json)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildMskRequestBody, referenceProfile } from '../lib/mbms/index.ts';
import { buildIsCurrent } from '../tools/build-state.mjs';
import { loadVerdict, type AnySummary } from '../lib/load/report.ts';

if (!(await buildIsCurrent(new URL('../', import.meta.url)))) {
  console.error('dist/ is not current: run `npm run build` first (the bench measures the compiled command)');
  process.exit(2);
}
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, plots: { type: 'boolean' }, only: { type: 'string' } } });
const quick = values.quick ?? false;
const SECTIONS = ['peer', 'rates', 'closed', 'push', 'pull', 'mtk'];
const only = values.only?.split(',') ?? SECTIONS;
for (const o of only) if (!SECTIONS.includes(o)) { console.error(`--only ${o}: one of ${SECTIONS.join(', ')}`); process.exit(2); }
const want = (section: string): boolean => only.includes(section);
const root = new URL('../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'load-bench-'));
const bin = join(root, 'bin/mbms-conform.js');

/** Runs `mbms-conform load ... --json` under /usr/bin/time; the summary and the command's peak RSS (MiB). */
function load(args: string[]): { summary: Record<string, any>; rssMb: number } {
  const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, 'load', ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = run.stderr.trim().split('\n');
  if (!run.stdout.trim()) throw new Error(`load ${args.join(' ')}: exit ${run.status}\n${run.stderr}`);
  return { summary: JSON.parse(run.stdout), rssMb: Math.round(Number(lines.at(-1)) / 1024) };
}

/** wrk against a reference BM-SC started as its own process: POSTs of the MSK request, each answered 401. */
async function wrkPeer(seconds: number): Promise<{ requestsPerSecond: number; p50: string; p99: string; status: string }> {
  const config = join(dir, 'bmsc.yaml');
  writeFileSync(config, [
    'nafFqdn: bmsc.example.com', 'http: { address: 127.0.0.1, port: 4480 }', 'mikey: { address: 127.0.0.1, port: 4481 }', 'control: { address: 127.0.0.1, port: 4482 }',
    'profileBase: reference', `stateFile: ${join(dir, 'state.json')}`, 'services:', '  - { keyDomainId: 001-01, keyGroup: 1, name: load }', 'users: []', 'mtkRekey: false', '',
  ].join('\n'));
  const bmsc = spawn(process.execPath, [bin, 'reference', 'bmsc', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const on = (c: Buffer) => { text += c; if (text.includes('listening')) resolve(); };
    bmsc.stdout.on('data', on);
    bmsc.stderr.on('data', on);
    bmsc.once('exit', (code) => reject(new Error(`reference bmsc exited ${code}: ${text}`)));
  });
  const profile = referenceProfile();
  const body = buildMskRequestBody([{ keyDomainId: Buffer.from('001001', 'hex'), mskId: 0x00010000 }], profile);
  const script = join(dir, 'post.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body.toString())}\nwrk.headers["Content-Type"] = "${profile.http.requestContentType}"\nwrk.headers["Host"] = "bmsc.example.com"\n`);
  const run = spawnSync('wrk', ['-t1', '-c16', `-d${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:4480${profile.http.path}?${profile.http.query}`], { encoding: 'utf8' });
  bmsc.kill('SIGINT');
  await new Promise((resolve) => bmsc.once('exit', resolve));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(run.stdout)?.[1]);
  const pct = (p: string) => new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(run.stdout)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(run.stdout)?.[1];
  return { requestsPerSecond: Math.round(rps), p50: pct('50'), p99: pct('99'), status: non2xx ? `${non2xx} answers 401 (the challenge)` : run.stdout.slice(0, 200) };
}

const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, quick };
const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);

if (want('peer')) {
  console.log('\n### wrk (peer): the MSK request POST alone, answered 401 by the reference BM-SC\n');
  const peer = await wrkPeer(quick ? 5 : 10);
  results.wrk = peer;
  row(['tool', 'requests/s', 'p50', 'p99', 'answers']);
  row(['---', '---', '---', '---', '---']);
  row(['wrk -t1 -c16', peer.requestsPerSecond, peer.p50, peer.p99, peer.status]);
}

if (want('rates')) {
  console.log('\n### msk-request, open loop (3 s warm-up)\n');
  row(['offered/s', 'UEs', 'seconds', 'completed/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'errors', 'lost ACKs', 'failures', 'tester', 'peak RSS MiB']);
  row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']);
  // 4,000 UEs: each comes back every 4 s at 1,000/s, near the BM-SC's 5 s keep-alive, so a share of the
  // procedures opens a new TCP connection; 2,000 UEs at 1,000/s come back every 2 s on their open connection
  const rates: { rate: number; seconds: number; ues: number }[] = quick
    ? [{ rate: 500, seconds: 10, ues: 4000 }, { rate: 1000, seconds: 10, ues: 4000 }]
    : [{ rate: 250, seconds: 20, ues: 4000 }, { rate: 500, seconds: 20, ues: 4000 }, { rate: 1000, seconds: 60, ues: 4000 }, { rate: 1000, seconds: 60, ues: 2000 },
      { rate: 1500, seconds: 20, ues: 4000 }, { rate: 2000, seconds: 60, ues: 4000 }];
  const rateResults = [];
  for (const { rate, seconds, ues } of rates) {
    const html = values.plots && rate === 2000 ? ['--html', join(dir, 'rate-2000.html')] : [];
    const { summary: s, rssMb } = load(['--rate', String(rate), '--duration', String(seconds), '--warmup', '3', '--ues', String(ues), ...html]);
    const errors = Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    const failures = Object.values(s.conformanceFailures as Record<string, number>).reduce((a, b) => a + b, 0);
    row([rate, ues, seconds, s.completedPerSecond, s.latencyMs.p50, s.latencyMs.p90, s.latencyMs.p99, s.latencyMs.p999, errors, s.lostAcks, failures, s.testerStarved ? `starved (lag p99 ${s.schedulerLagMs.p99} ms)` : `on time (lag p99 ${s.schedulerLagMs.p99} ms)`, rssMb]);
    const { seconds: _s, histograms: _h, evidence: _e, ...kept } = s;
    rateResults.push({ rate, ...kept, ues, rssMb });
  }
  results.rates = rateResults;
}

if (want('closed')) {
  console.log('\n### msk-request, closed loop (saturation)\n');
  const { summary: s, rssMb } = load(['--concurrency', '32', '--duration', quick ? '5' : '20', '--warmup', '3', '--ues', '4000']);
  row(['in flight', 'completed/s', 'p50 ms', 'p99 ms', 'errors', 'lost ACKs', 'failures', 'peak RSS MiB']);
  row(['---', '---', '---', '---', '---', '---', '---', '---']);
  row([32, s.completedPerSecond, s.latencyMs.p50, s.latencyMs.p99, Object.keys(s.errors).length ? JSON.stringify(s.errors) : '0', s.lostAcks, Object.keys(s.conformanceFailures).length ? JSON.stringify(s.conformanceFailures) : '0', rssMb]);
  results.closedLoop = { concurrency: 32, completedPerSecond: s.completedPerSecond, latencyMs: s.latencyMs, errors: s.errors, lostAcks: s.lostAcks, conformanceFailures: s.conformanceFailures, rssMb };
}

if (want('push')) {
  console.log('\n### push-group: a new MSK to every UE of a key group (1 % more UEs not subscribed, listening)\n');
  row(['UEs', 'processes', 'all delivered s', 'all acknowledged s', 'UEs/s', 'delivery p50 ms', 'p99 ms', 'messages', 'lost ACKs', 'failures', 'coordinator peak RSS MiB']);
  row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']);
  const pushes = quick ? [10_000] : [10_000, 30_000, 100_000];
  const pushResults = [];
  for (const ues of pushes) {
    const html = values.plots && ues === pushes.at(-1) ? ['--html', join(dir, 'push.html')] : [];
    const { summary: s, rssMb } = load(['--scenario', 'push-group', '--ues', String(ues), ...html]);
    const failures = Object.values(s.conformanceFailures as Record<string, number>).reduce((a, b) => a + b, 0);
    row([ues, s.processes, ((s.allDeliveredMs ?? NaN) / 1000).toFixed(2), ((s.allAcknowledgedMs ?? NaN) / 1000).toFixed(2), s.completedPerSecond, s.latencyMs.p50, s.latencyMs.p99, s.messages, s.lostAcks, failures, rssMb]);
    const { deliveriesPer100Ms: _d, evidence: _e, ...kept } = s;
    pushResults.push({ ...kept, rssMb });
  }
  results.push = pushResults;
}

if (want('pull')) {
  console.log('\n### pull-group: a solicited-pull trigger to every UE of a key group, each requesting the MSK\n');
  row(['UEs', 'jitter s', 'processes', 'delivered', 'all acknowledged s', 'UEs/s', '200 OK after trigger p50 ms', 'p99 ms', 'delivery p99 ms', 'errors', 'failures', 'tester loop p99 / max ms', 'verdict']);
  row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']);
  const runs = quick ? [{ ues: 2000, jitterMs: 0 }] : [{ ues: 2000, jitterMs: 0 }, { ues: 5000, jitterMs: 0 }, { ues: 5000, jitterMs: 5000 }, { ues: 10_000, jitterMs: 5000 }];
  const pullResults = [];
  for (const { ues, jitterMs } of runs) {
    const { summary: s, rssMb } = load(['--scenario', 'pull-group', '--ues', String(ues), ...(jitterMs ? ['--pull-jitter', String(jitterMs)] : [])]);
    const failures = Object.values(s.conformanceFailures as Record<string, number>).reduce((a, b) => a + b, 0);
    const errors = Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    const verdict = loadVerdict(s as AnySummary);
    row([ues, jitterMs / 1000, s.processes, `${s.delivered} of ${ues}`, ((s.allAcknowledgedMs ?? NaN) / 1000).toFixed(2), s.completedPerSecond, s.pull.okMs.p50, s.pull.okMs.p99, s.latencyMs.p99, errors, failures, `${s.testerLoopDelayMs.p99} / ${s.testerLoopDelayMs.max}`, verdict]);
    const { deliveriesPer100Ms: _d, evidence: _e, ...kept } = s;
    pullResults.push({ ...kept, jitterMs, rssMb });
  }
  results.pull = pullResults;
}

if (want('mtk')) {
  console.log('\n### mtk-update: 10 s of MTK updates to every UE of the group, after the push of its MSK\n');
  row(['UEs', 'updates/s', 'processes', 'updates', 'new MTKs taken', 'per second', 'UE wait p50 ms', 'p99 ms', 'max ms', 'update to all p50 ms', 'max ms', 'failures', 'coordinator peak RSS MiB']);
  row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']);
  const runs = quick ? [{ ues: 10_000, rate: 1 }] : [{ ues: 10_000, rate: 1 }, { ues: 10_000, rate: 10 }, { ues: 100_000, rate: 1 }];
  const mtkResults = [];
  for (const { ues, rate } of runs) {
    const { summary: s, rssMb } = load(['--scenario', 'mtk-update', '--ues', String(ues), '--rate', String(rate), '--duration', '10']);
    const failures = Object.values(s.conformanceFailures as Record<string, number>).reduce((a, b) => a + b, 0);
    row([ues, rate, s.processes, s.updates, `${s.delivered} of ${s.expected}`, s.completedPerSecond, s.latencyMs.p50, s.latencyMs.p99, s.latencyMs.max, s.fanOutMs.p50, s.fanOutMs.max, failures, rssMb]);
    const { perUpdate: _u, evidence: _e, ...kept } = s;
    mtkResults.push({ ...kept, rssMb });
  }
  results.mtk = mtkResults;
}

const out = join(root, 'bench/results', `load-${new Date().toISOString().slice(0, 10)}${values.only ? `-${only.join('-')}` : ''}${quick ? '-quick' : ''}.json`);
(await import('node:fs')).mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten: ${out}`);

if (values.plots) {
  // The README's plots: the SVGs of the HTML reports, as files
  const svgs = (file: string) => readFileSync(file, 'utf8').match(/<svg [\s\S]*?<\/svg>/g) ?? [];
  const images = join(root, 'docs/images');
  (await import('node:fs')).mkdirSync(images, { recursive: true });
  const rate = svgs(join(dir, 'rate-2000.html'));
  const push = svgs(join(dir, 'push.html'));
  if (rate[0]) writeFileSync(join(images, 'load-2000-throughput.svg'), `${rate[0]}\n`);
  if (rate[1]) writeFileSync(join(images, 'load-2000-latency.svg'), `${rate[1]}\n`);
  if (rate[2]) writeFileSync(join(images, 'load-2000-percentiles.svg'), `${rate[2]}\n`);
  if (push[0]) writeFileSync(join(images, 'load-push.svg'), `${push[0]}\n`);
  console.log(`plots written to ${images}`);
}
