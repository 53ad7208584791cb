// Start-up and main-job benchmark: how long a command takes from `node` to exit, median of several runs,
// beside `node -e 0` (the floor of any Node tool) in the same run, for the compiled command (dist/, what
// an installed package runs) and for the sources through tsx (MBMS_FROM_SOURCE=1); then, with
// --main-job N, N runs of `npm start` (92 cases, both roles, Allure report).
//
//   npx tsx bench/startup.ts [runs] [--main-job N] [--hogs K]     (default 9 runs, no main job, no hogs)
//
// --hogs K runs K busy-looping processes alongside the main job (a loaded host, as CI and labs have).
//
// Needs a current build (`npm run build`); it refuses a stale one rather than measure the fallback.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { buildIsCurrent } from '../tools/build-state.mjs';

const args = process.argv.slice(2);
const mainJobAt = args.indexOf('--main-job');
const mainJobRuns = mainJobAt >= 0 ? Number(args[mainJobAt + 1]) : 0;
const hogsAt = args.indexOf('--hogs');
const hogs = hogsAt >= 0 ? Number(args[hogsAt + 1]) : 0;
const runs = Number(args.find((a, i) => /^\d+$/.test(a) && i !== mainJobAt + 1 && i !== hogsAt + 1) ?? 9);

const example = /npx mbms-conform decode --muk ([0-9a-f]+) \\\n\s+([0-9a-f]+)/.exec(readFileSync('README.md', 'utf8'));
if (!example) throw new Error('README.md has no decode example');
const BIN = 'bin/mbms-conform.js';
if (!buildIsCurrent(new URL('../', import.meta.url))) throw new Error('dist/ is missing or older than its sources: npm run build first');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeOf(argv: string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const subjects: { name: string; argv: string[]; env?: NodeJS.ProcessEnv }[] = [
  { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
  { name: '--help (compiled)', argv: [process.execPath, BIN, '--help'] },
  { name: 'decode (compiled)', argv: [process.execPath, BIN, 'decode', '--muk', example[1]!, example[2]!] },
  { name: '--help (sources, tsx)', argv: [process.execPath, BIN, '--help'], env: { MBMS_FROM_SOURCE: '1' } },
  { name: 'decode (sources, tsx)', argv: [process.execPath, BIN, 'decode', '--muk', example[1]!, example[2]!], env: { MBMS_FROM_SOURCE: '1' } },
];

console.log(`start-up, median of ${runs} runs (interleaved), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const times = new Map(subjects.map((s) => [s.name, [] as number[]]));
for (const s of subjects) timeOf(s.argv, s.env); // warm the file cache
for (let i = 0; i < runs; i++) for (const s of subjects) times.get(s.name)!.push(timeOf(s.argv, s.env));
const floor = median(times.get('node -e 0')!);
console.log('| command | median ms | min–max ms | × node -e 0 |\n|---|---|---|---|');
for (const s of subjects) {
  const t = times.get(s.name)!;
  console.log(`| ${s.name} | ${median(t).toFixed(0)} | ${Math.min(...t).toFixed(0)}–${Math.max(...t).toFixed(0)} | ${(median(t) / floor).toFixed(2)} |`);
}

if (mainJobRuns > 0) {
  const burners = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  if (hogs) console.log(`${hogs} CPU hog${hogs === 1 ? '' : 's'} running alongside the main job`);
  const walls: number[] = [];
  for (let i = 0; i < mainJobRuns; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('npm', ['start', '--silent'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const total = /^total\s+(\d+) cases\s+(\d+)/m.exec(r.stdout);
    console.log(`npm start #${i + 1}: ${walls.at(-1)!.toFixed(1)} s, exit ${r.status}, ${total ? `${total[2]} PASS of ${total[1]}` : 'no summary'}, load ${loadavg()[0]!.toFixed(2)}`);
  }
  console.log(`npm start${hogs ? ` with ${hogs} hogs` : ''}: median ${median(walls).toFixed(1)} s (min ${Math.min(...walls).toFixed(1)}, max ${Math.max(...walls).toFixed(1)}) over ${mainJobRuns} runs`);
  for (const b of burners) b.kill();
}
