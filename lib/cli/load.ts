// `mbms-conform load`: complete 6.3.1 procedures against a BM-SC at a rate, with every message judged
// (docs/load.md). Without --sut it runs against the embedded reference BM-SC, like `run`.
// Exit: 0 no conformance failure and no error, 1 conformance failures or errors, 2 bad input, 3 the run failed.
import { parseArgs } from 'node:util';
import type { MbmsProfile } from '../mbms/index.ts';
import { LOAD_SCENARIOS, runLoad, type LoadScenario, type LoadSummary } from '../load/run.ts';
import { embeddedLoadProfile, MAX_UES } from '../load/population.ts';
import { startBmscThread } from '../load/bmsc-thread.ts';

const USAGE = `usage: mbms-conform load [--scenario NAME] [--rate N [--ramp S] | --concurrency N] [--warmup S] [--duration S]
                        [--ues N] [--first-ue N] [--ue-mikey-port P] [--fault NAME]... [--json] [--csv FILE]
  --scenario NAME     ${Object.entries(LOAD_SCENARIOS).map(([n, d]) => `${n}: ${d}`).join('\n                      ')}
                      (default msk-request)
  --rate N            open loop: N procedures started per second, whatever the BM-SC answers (default 100)
  --ramp S            open loop: the rate grows linearly from 0 over S seconds first
  --concurrency N     closed loop instead: N procedures in flight, each started when one ends (saturation)
  --warmup S          seconds run first and left out of the figures (connections opening, code warming
                      up); their messages are judged all the same (default 0)
  --duration S        seconds of offered load measured, after the warm-up (default 10)
  --ues N             simulated UEs, each its own B-TID, Ks_NAF and loopback address (default 1000)
  --first-ue N        index of the first UE (127.64.0.0 + N): processes run side by side take slices
  --ue-mikey-port P   UDP port of the UEs' MIKEY sockets (default the profile's, O1: 4359)
  --fault NAME        a fault of the embedded reference BM-SC (mbms-conform reference bmsc --list-faults)
  --json              one JSON summary object instead of the text summary
  --csv FILE          the per-second figures (offered, completed, errors, failures, p50, p99) as CSV
exit: 0 no conformance failure and no error, 1 failures or errors, 2 bad input, 3 the run failed
`;

class UsageError extends Error {}

function positive(text: string | undefined, option: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > max) throw new UsageError(`${option} ${text}: a number above 0${max < Number.MAX_SAFE_INTEGER ? ` and at most ${max}` : ''}`);
  return n;
}

export async function loadCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        'scenario': { type: 'string' }, 'rate': { type: 'string' }, 'ramp': { type: 'string' }, 'concurrency': { type: 'string' },
        'duration': { type: 'string' }, 'warmup': { type: 'string' }, 'ues': { type: 'string' }, 'first-ue': { type: 'string' }, 'ue-mikey-port': { type: 'string' }, 'fault': { type: 'string', multiple: true },
        'json': { type: 'boolean' }, 'csv': { type: 'string' }, 'help': { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`mbms-conform load: ${(e as Error).message.split('\n')[0]}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let stop: (() => Promise<void>) | undefined;
  try {
    const scenario = (values.scenario ?? 'msk-request') as LoadScenario;
    if (!(scenario in LOAD_SCENARIOS)) throw new UsageError(`--scenario ${scenario}: one of ${Object.keys(LOAD_SCENARIOS).join(', ')}`);
    if (values.rate !== undefined && values.concurrency !== undefined) throw new UsageError('--rate and --concurrency exclude each other (open or closed loop)');
    const rate = positive(values.rate as string | undefined, '--rate', 100);
    const rampS = values.ramp === undefined ? 0 : positive(values.ramp as string, '--ramp', 0);
    const concurrency = values.concurrency === undefined ? undefined : Math.floor(positive(values.concurrency as string, '--concurrency', 1));
    const durationS = positive(values.duration as string | undefined, '--duration', 10);
    const warmupS = values.warmup === undefined || values.warmup === '0' ? 0 : positive(values.warmup as string, '--warmup', 0);
    const ues = Math.floor(positive(values.ues as string | undefined, '--ues', 1000, MAX_UES));
    const firstUe = values['first-ue'] === undefined ? 0 : Number(values['first-ue']);
    if (!Number.isInteger(firstUe) || firstUe < 0 || firstUe + ues > MAX_UES) throw new UsageError(`--first-ue ${String(values['first-ue'])}: an index from 0 with the UEs within ${MAX_UES}`);
    const ueMikeyPort = values['ue-mikey-port'] === undefined ? undefined : Number(values['ue-mikey-port']);
    if (ueMikeyPort !== undefined && !(Number.isInteger(ueMikeyPort) && ueMikeyPort >= 1 && ueMikeyPort <= 65535)) throw new UsageError(`--ue-mikey-port ${String(values['ue-mikey-port'])}: a port (1-65535)`);
    const faults = (values.fault ?? []) as string[];

    const profile: MbmsProfile = embeddedLoadProfile();
    const keyDomainId = Buffer.from('001001', 'hex');
    // The embedded BM-SC in a thread of its own (its event loop on the other core; bmsc-thread.ts)
    const bmsc = await startBmscThread({ ues, seed: 'mbms-conform load', firstUe, faults, keyDomainId: keyDomainId.toString('hex'), keyGroup: 1, ...(ueMikeyPort ? { uePort: ueMikeyPort } : {}) });
    const endpoints = bmsc.endpoints;
    stop = () => bmsc.stop();
    const live = process.stderr.isTTY && !values.json;
    const summary = await runLoad({
      target: { http: endpoints.http, host: 'bmsc.example.com', keyDomainId, keyGroup: 1 },
      profile, scenario, ues, firstUe, ...(ueMikeyPort ? { ueMikeyPort } : {}), durationS, warmupS, seed: 'mbms-conform load',
      ...(concurrency !== undefined ? { concurrency } : { rate, rampS }),
      onSecond: (s) => {
        const line = `${s.second}s offered ${s.offered}/s completed ${s.completed}/s p50 ${s.p50Ms.toFixed(1)} ms p99 ${s.p99Ms.toFixed(1)} ms errors ${s.errors} failures ${s.failures}`;
        if (live) process.stderr.write(`\r${line}\u001b[K`);
        else if (!values.json) process.stderr.write(`${line}\n`);
      },
    });
    if (live) process.stderr.write('\n');
    await bmsc.stop();
    stop = undefined;
    if (typeof values.csv === 'string') {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(values.csv, `second,offered,completed,errors,failures,p50_ms,p99_ms\n${summary.seconds.map((s) => [s.second, s.offered, s.completed, s.errors, s.failures, s.p50Ms, s.p99Ms].join(',')).join('\n')}\n`);
    }
    process.stdout.write(values.json ? `${JSON.stringify({ ...summary, sut: { name: 'reference BM-SC (embedded)', faults } })}\n` : formatLoadSummary(summary, faults));
    return Object.keys(summary.conformanceFailures).length > 0 || Object.keys(summary.errors).length > 0 || summary.lostAcks > 0 ? 1 : 0;
  } catch (e) {
    await stop?.().catch(() => undefined);
    if (e instanceof UsageError) {
      process.stderr.write(`mbms-conform load: ${e.message}\n${USAGE}`);
      return 2;
    }
    if ((e as Error).name === 'UnknownFaultError') {
      // (named by the BM-SC thread: the error crosses as its name and message)
      process.stderr.write(`mbms-conform load: ${(e as Error).message.split('\n')[0]}\n`);
      return 2;
    }
    process.stderr.write(`mbms-conform load: the run failed: ${(e as Error).message.split('\n')[0]}\n`);
    if (process.env.MBMS_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return 3;
  }
}

export function formatLoadSummary(s: LoadSummary, faults: string[]): string {
  const p = (x: { p50: number; p90: number; p99: number; p999: number; max: number }) => `p50 ${x.p50} ms, p90 ${x.p90} ms, p99 ${x.p99} ms, p99.9 ${x.p999} ms, max ${x.max} ms`;
  const lines = [
    `mbms-conform load: ${s.scenario} against the embedded reference BM-SC${faults.length ? ` (faults: ${faults.join(', ')})` : ''}, ${s.ues} UEs, ${s.mode === 'open-loop' ? `${s.rate}/s offered` : `${s.concurrency} in flight`} for ${s.durationS} s`,
    ...(s.warmup ? [`  warm-up:    ${s.warmup.seconds} s, ${s.warmup.offered} offered, ${s.warmup.completed} completed, ${s.warmup.errors} errors (left out of the figures below but the failures)`] : []),
    `  procedures: ${s.offered} offered, ${s.completed} completed (${s.completedPerSecond}/s)`,
    `  latency:    ${p(s.latencyMs)}`,
    `    401 challenge:  ${p(s.phasesMs.challenge)} (${s.phasesMs.challenge.count})`,
    `    200 OK:         ${p(s.phasesMs.ok)}`,
    `    MIKEY delivery: ${p(s.phasesMs.delivery)} (after the 200 OK)`,
    `  scheduler lag (the tester's own): p99 ${s.schedulerLagMs.p99} ms, max ${s.schedulerLagMs.max} ms`,
    ...(s.testerStarved ? ['  the tester could not keep its own schedule: the latencies, time-outs and lost ACKs above are partly its own starvation, not the BM-SC\'s alone (the offered load is beyond what this machine runs)'] : []),
    `  lost ACKs: ${s.lostAcks}${s.abandonedDeliveries ? ` (and ${s.abandonedDeliveries} MIKEY messages after procedures given up on a time-out, not counted as lost ACKs)` : ''}`,
    `  errors: ${Object.keys(s.errors).length ? Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`,
    `  conformance failures: ${Object.keys(s.conformanceFailures).length ? Object.entries(s.conformanceFailures).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`,
    ...s.evidence.map((e) => `    ${e.check} (${e.ue}): ${e.message}${e.expected !== undefined ? `; expected ${JSON.stringify(e.expected)}` : ''}${e.actual !== undefined ? `, got ${JSON.stringify(e.actual)}` : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}
