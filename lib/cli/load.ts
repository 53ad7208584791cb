// `mbms-conform load`: complete 6.3.1 procedures against a BM-SC at a rate, with every message judged
// (docs/load.md). With --sut against a BM-SC under test; without, against the embedded reference BM-SC, like `run`.
// Exit: 0 no conformance failure and no error, 1 conformance failures or errors, 2 bad input, 3 the run failed.
import { parseArgs } from 'node:util';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { MbmsProfile } from '../mbms/index.ts';
import { runLoadInThreads } from '../load/generator-thread.ts';
import { LOAD_SCENARIOS, type LoadScenario, type LoadSummary, type RequestScenario } from '../load/run.ts';
import { embeddedLoadProfile, MAX_UES, population } from '../load/population.ts';
import type { Target } from '../load/procedure.ts';
import { loadSutProfile } from '../suite/sut-profile.ts';
import type { SutProvider } from '../suite/sut.ts';
import { CaptureError } from '../capture/errors.ts';
import type { CaptureBackend } from '../capture/backends.ts';
import { cutEvidencePcaps, evidenceWindow, loadCapture } from '../load/evidence-pcap.ts';
import { SutProfileError } from '../suite/errors.ts';
import { startBmscThread } from '../load/bmsc-thread.ts';
import { runPush } from '../load/push.ts';
import { MergeError, mergeLoadSummaries } from '../load/merge.ts';
import { runSlices, splitRun } from '../load/runners.ts';
import { isGroupSummary, loadVerdict, writeLoadOutputs, type AnySummary, type Sut } from '../load/report.ts';

const USAGE = `usage: mbms-conform load [--scenario NAME] [--rate N [--ramp S] | --concurrency N] [--warmup S] [--duration S]
                        [--ues N] [--first-ue N] [--unsubscribed N] [--pull-jitter MS] [--processes N] [--threads N]
                        [--ue-mikey-port P] [--sut PROFILE [--provisioned] [--runner CMD...] | --fault NAME...] [--capture FILE] [--json] [--csv FILE] [--html FILE] [--allure-results DIR]
       mbms-conform load merge SUMMARY.json... [--json] [--csv FILE] [--html FILE] [--allure-results DIR]
       mbms-conform load population --sut PROFILE --out FILE [--ues N] [--first-ue N] [--unsubscribed N] [--ue-mikey-port P]
  --scenario NAME     ${Object.entries(LOAD_SCENARIOS).map(([n, d]) => `${n}: ${d.description}`).join('\n                      ')}
                      (default msk-request)
  --rate N            open loop: N procedures started per second, whatever the BM-SC answers (default 100);
                      mtk-update: N MTK updates triggered per second (default 1)
  --ramp S            open loop: the rate grows linearly from 0 over S seconds first
  --concurrency N     closed loop instead: N procedures in flight, each started when one ends (saturation)
  --warmup S          seconds run first and left out of the figures (connections opening, code warming
                      up); their messages are judged all the same (default 0)
  --duration S        seconds of offered load measured, after the warm-up (default 10); push-group and
                      pull-group: the longest wait for every UE to acknowledge (default 120); mtk-update:
                      seconds of updates (default 10), after the push
  --ues N             simulated UEs, each its own B-TID, Ks_NAF and loopback address (default 1000)
  --first-ue N        index of the first UE (127.64.0.0 + N): processes run side by side take slices
  --unsubscribed N    push-group, pull-group, mtk-update, population: UEs not subscribed to the group,
                      listening too (default 1 per 100 UEs, at most 100)
  --pull-jitter MS    pull-group: each UE waits a random delay of up to MS ms before it requests the MSK
                      (O20 storm avoidance; at most T_pull; default the profile's solicitedPull.jitterMs,
                      0 for the embedded BM-SC)
  --threads N         request scenarios: worker threads of the generator, each a slice of the UEs at its
                      share of the rate (default 1, off the main thread)
  --processes N       push-group, pull-group, mtk-update: child processes holding the UE sockets
                      (default: as many as the descriptor limit needs; 0 = this process)
  --ue-mikey-port P   UDP port of the UEs' MIKEY sockets (default the profile's, O1: 4359)
  --sut PROFILE       a BM-SC under test (its SUT profile, as for run); the population is provisioned
                      through its control API (trigger.kind control-api, provision: true), or --provisioned
  --provisioned       with --sut: the population is in the BM-SC already (imported from load population)
  --runner CMD        (repeated) request scenarios with --sut: split the UEs and the rate (or concurrency)
                      over runners, each started by its command prefix (e.g. 'ssh lab-2 npx mbms-conform'),
                      and merge their summaries into one
  --fault NAME        a fault of the embedded reference BM-SC (mbms-conform reference bmsc --list-faults)
  --capture FILE      capture the population's packets on the loopback into FILE (tcpdump, root) and cut
                      each piece of evidence's packets into FILE-evidence-N.pcap, named in the evidence
  --json              one JSON summary object instead of the text summary
  --csv FILE          the per-second figures as CSV (push-group: UEs delivered per 100 ms; mtk-update:
                      per update)
  --html FILE         a report with plots: throughput and latency over time, latency histogram
  --allure-results DIR  the summary as an Allure result (with the HTML report and JSON attached)
  population          write the population as users of the --sut BM-SC to --out FILE (JSON: POST /users
                      bodies; .csv: CSV), for a BM-SC without control API to import (mode 600: Ks_NAF)
  --out FILE          population: the file to write
  merge               one summary from the JSON summaries of processes run side by side (their
                      histograms added, not their percentiles averaged)
exit: 0 passed (no conformance failure, no error, no lost ACK), 1 failed or inconclusive (errors only
      while the tester itself ran late), 2 bad input, 3 the run failed
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
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: {
        'scenario': { type: 'string' }, 'rate': { type: 'string' }, 'ramp': { type: 'string' }, 'concurrency': { type: 'string' },
        'duration': { type: 'string' }, 'warmup': { type: 'string' }, 'ues': { type: 'string' }, 'first-ue': { type: 'string' }, 'ue-mikey-port': { type: 'string' }, 'fault': { type: 'string', multiple: true },
        'unsubscribed': { type: 'string' }, 'pull-jitter': { type: 'string' }, 'capture': { type: 'string' }, 'provisioned': { type: 'boolean' }, 'out': { type: 'string' }, 'runner': { type: 'string', multiple: true }, 'processes': { type: 'string' }, 'sut': { type: 'string' }, 'threads': { type: 'string' },
        'json': { type: 'boolean' }, 'csv': { type: 'string' }, 'html': { type: 'string' }, 'allure-results': { type: 'string' }, 'help': { type: 'boolean', short: 'h' },
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
  /** The outputs of a run (files, the summary on stdout) and its exit code. */
  const report = (summary: AnySummary): number => {
    writeLoadOutputs(summary, { ...(typeof values.csv === 'string' ? { csv: values.csv } : {}), ...(typeof values.html === 'string' ? { html: values.html } : {}), ...(typeof values['allure-results'] === 'string' ? { allureResults: values['allure-results'] } : {}) });
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : formatLoadSummary(summary));
    // inconclusive (errors only while the tester ran late) exits 1 as well: the run did not show conformance
    return loadVerdict(summary) === 'passed' ? 0 : 1;
  };
  let stop: (() => Promise<void>) | undefined;
  try {
    let summary: AnySummary;
    if (positionals[0] === 'merge') {
      summary = mergeFiles(positionals.slice(1));
    } else {
      if (positionals.length > (positionals[0] === 'population' ? 1 : 0)) throw new UsageError(`${positionals.at(-1)}: no such argument (the subcommands are 'merge' and 'population')`);
      const scenario = (values.scenario ?? 'msk-request') as LoadScenario;
      if (!(scenario in LOAD_SCENARIOS)) throw new UsageError(`--scenario ${scenario}: one of ${Object.keys(LOAD_SCENARIOS).join(', ')}`);
      const drive = LOAD_SCENARIOS[scenario].drive as 'rate' | 'push' | 'updates';
      // push-group, pull-group and mtk-update: UE slices listening on a socket each (push.ts), UEs not
      // subscribed among them; `population` writes the users of every scenario, those UEs included
      const push = drive !== 'rate' || positionals[0] === 'population';
      if (values.rate !== undefined && values.concurrency !== undefined) throw new UsageError('--rate and --concurrency exclude each other (open or closed loop)');
      for (const o of ['rate', 'ramp', 'concurrency', 'warmup'] as const) {
        if (drive === 'push' && values[o] !== undefined) throw new UsageError(`--${o}: not for ${scenario} (one push to the whole group)`);
        if (drive === 'updates' && o !== 'rate' && values[o] !== undefined) throw new UsageError(`--${o}: not for ${scenario} (MTK updates at --rate per second)`);
      }
      if (scenario !== 'pull-group' && values['pull-jitter'] !== undefined) throw new UsageError('--pull-jitter: for pull-group only');
      const pullJitterMs = values['pull-jitter'] === undefined ? undefined : wholeNumber(values['pull-jitter'] as string, '--pull-jitter');
      for (const o of ['unsubscribed', 'processes'] as const) if (!push && values[o] !== undefined) throw new UsageError(`--${o}: for push-group, pull-group and mtk-update only`);
      if (push && values.threads !== undefined) throw new UsageError(`--threads: not for ${scenario} (its UE slices are processes: --processes)`);
      const threads = values.threads === undefined ? 1 : Math.floor(positive(values.threads as string, '--threads', 1, 64));
      const rate = positive(values.rate as string | undefined, '--rate', drive === 'updates' ? 1 : 100);
      const rampS = values.ramp === undefined ? 0 : positive(values.ramp as string, '--ramp', 0);
      const concurrency = values.concurrency === undefined ? undefined : Math.floor(positive(values.concurrency as string, '--concurrency', 1));
      const durationS = positive(values.duration as string | undefined, '--duration', drive === 'push' ? 120 : 10);
      const warmupS = values.warmup === undefined || values.warmup === '0' ? 0 : positive(values.warmup as string, '--warmup', 0);
      const ues = Math.floor(positive(values.ues as string | undefined, '--ues', 1000, MAX_UES));
      const unsubscribed = values.unsubscribed === undefined ? Math.min(100, Math.ceil(ues / 100)) : wholeNumber(values.unsubscribed as string, '--unsubscribed');
      const processes = values.processes === undefined ? undefined : wholeNumber(values.processes as string, '--processes');
      const firstUe = values['first-ue'] === undefined ? 0 : Number(values['first-ue']);
      if (!Number.isInteger(firstUe) || firstUe < 0 || firstUe + ues + (push ? unsubscribed : 0) > MAX_UES) throw new UsageError(`--first-ue ${String(values['first-ue'])}: an index from 0 with the UEs within ${MAX_UES}`);
      const ueMikeyPort = values['ue-mikey-port'] === undefined ? undefined : Number(values['ue-mikey-port']);
      if (ueMikeyPort !== undefined && !(Number.isInteger(ueMikeyPort) && ueMikeyPort >= 1 && ueMikeyPort <= 65535)) throw new UsageError(`--ue-mikey-port ${String(values['ue-mikey-port'])}: a port (1-65535)`);
      const faults = (values.fault ?? []) as string[];
      if (values.provisioned && typeof values.sut !== 'string') throw new UsageError('--provisioned: with --sut (a BM-SC under test whose users were imported from load population)');
      const runners = (values.runner ?? []) as string[];
      if (runners.length > 0) {
        // One command, several runners (runners.ts): each a slice of the UEs and of the load, against the same
        // BM-SC under test; their summaries merged as by `load merge`
        if (typeof values.sut !== 'string') throw new UsageError('--runner: with --sut (every runner drives the same BM-SC under test)');
        if (drive !== 'rate') throw new UsageError(`--runner: for the request scenarios (${scenario} runs its UE slices itself: --processes)`);
        if (values.capture !== undefined) throw new UsageError('--capture: not with --runner (each runner would capture its own machine)');
        if (runners.length > ues) throw new UsageError(`--runner: ${runners.length} runners for ${ues} UEs (one UE at least each)`);
        const common = ['--scenario', scenario, '--duration', String(durationS), '--sut', values.sut,
          ...(values.provisioned ? ['--provisioned'] : []), ...(values.ramp !== undefined ? ['--ramp', String(rampS)] : []), ...(warmupS ? ['--warmup', String(warmupS)] : []),
          ...(ueMikeyPort ? ['--ue-mikey-port', String(ueMikeyPort)] : []), ...(values.threads !== undefined ? ['--threads', String(threads)] : [])];
        if (concurrency !== undefined && concurrency < runners.length) throw new UsageError(`--runner: ${runners.length} runners for ${concurrency} in flight (one at least each)`);
        const slices = splitRun(runners, { ues, firstUe, ...(concurrency !== undefined ? { concurrency } : { rate }) }, common);
        const outcomes = await runSlices(slices, (i, line) => { if (!values.json) process.stderr.write(`runner ${i + 1}: ${line}\n`); });
        const broken = outcomes.filter((o) => o.code !== 0 && o.code !== 1);
        if (broken.length) throw new Error(`runner '${broken[0]!.command}' ended with ${broken[0]!.code ?? 'an error'}: ${broken[0]!.stderr.trim().split('\n').slice(-2).join(' / ')}`);
        return report(mergeSummaries(outcomes.map((o, i) => ({ name: `runner ${i + 1} (${o.command})`, text: o.stdout }))));
      }
      if (positionals[0] === 'population') {
        // `load population`: the users file, nothing run
        if (typeof values.sut !== 'string' || typeof values.out !== 'string') throw new UsageError('population: --sut PROFILE and --out FILE (.json or .csv)');
        process.stdout.write(writePopulation(values.sut, values.out, { ues, unsubscribed, firstUe, ...(ueMikeyPort ? { ueMikeyPort } : {}) }));
        return 0;
      }
      // The BM-SC: one under test (its SUT profile, the population provisioned through its control API) or
      // the embedded reference in a thread of its own (its event loop on the other core; bmsc-thread.ts)
      // Checked against the profile before the BM-SC starts (or a SUT's population is provisioned): a UE pulls
      // within T_pull of the trigger (S-U1), so its random delay cannot be longer
      const checkProfile = (profile: MbmsProfile) => {
        if (pullJitterMs !== undefined && pullJitterMs > profile.timers.pullMs) throw new UsageError(`--pull-jitter ${pullJitterMs}: at most T_pull, ${profile.timers.pullMs} ms in the profile`);
      };
      let bmsc: LoadBmsc;
      if (typeof values.sut === 'string') {
        if (faults.length) throw new UsageError('--fault: for the embedded BM-SC only (not with --sut)');
        bmsc = await sutBmsc(values.sut, { ues, unsubscribed: push ? unsubscribed : 0, firstUe, ...(ueMikeyPort ? { ueMikeyPort } : {}), provisioned: values.provisioned === true }, checkProfile);
      } else {
        checkProfile(embeddedLoadProfile());
        bmsc = await embeddedBmsc({ ues, unsubscribed: push ? unsubscribed : 0, firstUe, faults, ...(ueMikeyPort ? { ueMikeyPort } : {}) });
      }
      stop = () => bmsc.stop();
      const profile = bmsc.profile;
      // The population's packets captured beside the load, to cut the evidence's packets from (evidence-pcap.ts)
      let capture: CaptureBackend | undefined;
      if (typeof values.capture === 'string') {
        capture = loadCapture(values.capture);
        try {
          await capture.start();
        } catch (e) {
          if (e instanceof CaptureError) throw new UsageError(`--capture ${values.capture}: ${e.message}`);
          throw e;
        }
        const running = capture;
        stop = async () => { await running.stop().catch(() => undefined); await bmsc.stop(); };
      }
      const live = process.stderr.isTTY && !values.json;
      const say = (line: string) => {
        if (live) process.stderr.write(`\r${line}\u001b[K`);
        else if (!values.json) process.stderr.write(`${line}\n`);
      };
      if (push) {
        const pushOptions = {
          ues, unsubscribed, firstUe, seed: SEED, port: ueMikeyPort ?? profile.ports.ueMikey, keyDomainId: bmsc.keyDomainId, keyGroup: bmsc.keyGroup, profile,
          ...(processes !== undefined ? { processes } : {}), timeoutS: drive === 'push' ? durationS : 120,
          trigger: () => (scenario === 'pull-group' ? bmsc.pullGroup() : bmsc.pushGroup()),
          ...(scenario === 'pull-group' ? { pull: { http: bmsc.target.http, host: bmsc.target.host, timeoutMs: profile.timers.httpMs, jitterMs: pullJitterMs ?? profile.solicitedPull.jitterMs } } : {}),
          onSecond: (p: { second: number; delivered: number; acknowledged: number; subscribed: number }) => say(`${p.second}s delivered ${p.delivered}/${p.subscribed} acknowledged ${p.acknowledged}/${p.subscribed}`),
        };
        const result = drive === 'push' ? await runPush(pushOptions) : await runPush({
          ...pushOptions,
          mtk: {
            rate, durationS, trigger: () => bmsc.mtkUpdate(),
            onSecond: (p) => say(`${p.second}s MTK updates ${p.updates}, new MTKs taken ${p.delivered}/${p.expected}`),
          },
        });
        const outstanding = await bmsc.outstandingAcks?.();
        summary = { ...result, sut: bmsc.sut, ...(outstanding !== undefined ? { bmscOutstandingAcks: outstanding } : {}) };
      } else {
        const result = await runLoadInThreads({
          target: bmsc.target,
          profile, scenario: scenario as RequestScenario, ues, firstUe, ...(ueMikeyPort ? { ueMikeyPort } : {}), durationS, warmupS, seed: SEED,
          ...(concurrency !== undefined ? { concurrency } : { rate, rampS }),
          onSecond: (s) => say(`${s.second}s offered ${s.offered}/s completed ${s.completed}/s p50 ${s.p50Ms.toFixed(1)} ms p99 ${s.p99Ms.toFixed(1)} ms errors ${s.errors} failures ${s.failures}`),
        }, threads);
        summary = { ...result, sut: bmsc.sut };
      }
      if (live) process.stderr.write('\n');
      await bmsc.stop();
      stop = undefined;
      if (capture) {
        await capture.stop();
        await cutEvidencePcaps(capture.path, summary.evidence, evidenceWindow(profile));
      }
    }
    return report(summary);
  } catch (e) {
    await stop?.().catch(() => undefined);
    if (e instanceof UsageError || e instanceof MergeError) {
      process.stderr.write(`mbms-conform load: ${e.message}\n${e instanceof UsageError ? USAGE : ''}`);
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

const SEED = 'mbms-conform load';

/** The BM-SC a load run drives: where to send MSK requests, how to push a group, how to stop. */
interface LoadBmsc {
  sut: Sut;
  profile: MbmsProfile;
  target: Target;
  keyDomainId: Buffer;
  keyGroup: number;
  pushGroup(): Promise<void>;
  /** A new MSK announced to every UE of the group by a solicited-pull trigger (§6.3.2.1). */
  pullGroup(): Promise<void>;
  /** A new MTK under the pushed MSK to every UE of the group (§6.3.3); its MTK ID (hex). */
  mtkUpdate(): Promise<string>;
  outstandingAcks?(): Promise<number>;
  stop(): Promise<void>;
}

interface PopulationSpec { ues: number; unsubscribed: number; firstUe: number; ueMikeyPort?: number }

async function embeddedBmsc(spec: PopulationSpec & { faults: string[] }): Promise<LoadBmsc> {
  const keyDomainId = Buffer.from('001001', 'hex');
  const thread = await startBmscThread({
    ues: spec.ues, unsubscribed: spec.unsubscribed, seed: SEED, firstUe: spec.firstUe, faults: spec.faults, keyDomainId: keyDomainId.toString('hex'), keyGroup: 1,
    ...(spec.ueMikeyPort ? { uePort: spec.ueMikeyPort } : {}),
  });
  return {
    sut: { name: 'reference BM-SC (embedded)', faults: spec.faults }, profile: embeddedLoadProfile(),
    target: { http: thread.endpoints.http, host: 'bmsc.example.com', keyDomainId, keyGroup: 1 }, keyDomainId, keyGroup: 1,
    pushGroup: async () => { await thread.pushGroup(); },
    pullGroup: async () => { await thread.pullGroup(); },
    mtkUpdate: () => thread.mtkUpdate(),
    outstandingAcks: () => thread.outstandingAcks(),
    stop: () => thread.stop(),
  };
}

/** A BM-SC SUT profile, refused (exit 2) when it is not one. */
function bmscProvider(file: string): SutProvider {
  let provider: SutProvider;
  try {
    provider = loadSutProfile(file);
  } catch (e) {
    if (e instanceof SutProfileError) throw new UsageError(e.message);
    throw e;
  }
  if (provider.role !== 'bmsc') throw new UsageError(`--sut ${file}: a load run drives a BM-SC, the profile is of a ${provider.role}`);
  return provider;
}

/**
 * The load population as users of a BM-SC under test (the control API's BmscUserRequest, the shape of
 * POST /users): each UE its B-TID, Ks_NAF and MIKEY address and port; the subscribed UEs in the key group of
 * the profile's first subscribed MSK, the others in its first unsubscribed MSK's group.
 */
function populationUsers(file: string, declared: NonNullable<SutProvider['declared']>, port: number, spec: PopulationSpec): { keyGroup: number; users: BmscUserRequest[] } {
  const pushed = declared.keys.subscribed[0];
  if (!pushed || !declared.http) throw new UsageError(`--sut ${file}: the profile names no subscribed MSK (keys.subscribed) or no MSK request endpoint (sut.http)`);
  const keyGroup = Math.floor(pushed.mskId / 0x10000);
  const other = declared.keys.unsubscribed[0];
  const users = population(spec.ues + spec.unsubscribed, SEED, spec.firstUe).map((u, i) => ({
    btid: u.btid, ksNaf: u.ksNaf.toString('hex'), ueAddress: u.address, uePort: port,
    subscriptions: i < spec.ues ? [{ keyDomainId: pushed.keyDomainId.toString('hex'), keyGroups: [keyGroup] }]
      : other ? [{ keyDomainId: other.keyDomainId.toString('hex'), keyGroups: [Math.floor(other.mskId / 0x10000)] }] : [],
  }));
  return { keyGroup, users };
}

type BmscUserRequest = { btid: string; ksNaf: string; ueAddress: string; uePort: number; subscriptions: { keyDomainId: string; keyGroups: number[] }[] };

/**
 * `load population`: the population as a file for a BM-SC that cannot be provisioned through the control
 * API, to import into its subscriber data before `load --sut PROFILE --provisioned`: JSON (an array of
 * POST /users bodies) or, for a name ending in .csv, CSV. It holds each test UE's Ks_NAF (derived from the
 * public seed of the load population, never a device's key): written readable by its owner only.
 */
function writePopulation(file: string, out: string, spec: PopulationSpec): string {
  const provider = bmscProvider(file);
  const { users } = populationUsers(file, provider.declared!, spec.ueMikeyPort ?? provider.profile.ports.ueMikey, spec);
  const text = out.endsWith('.csv')
    ? `btid,ks_naf,ue_address,ue_port,key_domain_id,key_group\n${users.map((u) => [u.btid, u.ksNaf, u.ueAddress, u.uePort, u.subscriptions[0]?.keyDomainId ?? '', u.subscriptions[0]?.keyGroups[0] ?? ''].join(',')).join('\n')}\n`
    : `${JSON.stringify(users, null, 1)}\n`;
  writeFileSync(out, text, { mode: 0o600 });
  chmodSync(out, 0o600);
  return `mbms-conform load population: ${users.length} users (${spec.ues} subscribed, ${spec.unsubscribed} not) written to ${out} (mode 600: it holds their Ks_NAF)\n`;
}

/**
 * A BM-SC under test from its SUT profile: the load population (and the UEs not subscribed) provisioned
 * through its control API, each with its MIKEY address, or already provisioned from `load population`
 * (`provisioned`); the key group is the profile's first subscribed MSK's, the other group its first
 * unsubscribed MSK's; the push goes through the profile's trigger. `checkProfile` judges the options against
 * the profile before anything is provisioned.
 */
async function sutBmsc(file: string, spec: PopulationSpec & { provisioned: boolean }, checkProfile: (profile: MbmsProfile) => void): Promise<LoadBmsc> {
  const provider = bmscProvider(file);
  checkProfile(provider.profile);
  if (!provider.provisionUser && !spec.provisioned) {
    throw new UsageError(`--sut ${file}: the load population (${spec.ues + spec.unsubscribed} users) is provisioned through the SUT's control API (trigger.kind control-api with provision: true); for a BM-SC without one, import the file of 'mbms-conform load population' and add --provisioned`);
  }
  const profile = provider.profile;
  const port = spec.ueMikeyPort ?? profile.ports.ueMikey;
  const { keyGroup, users } = populationUsers(file, provider.declared!, port, spec);
  const session = await provider.open({ worker: 0, testerAddress: '127.0.0.1' });
  const pushed = session.keys.subscribed[0]!;
  // Provisioned a few at a time: one control call per user
  if (!spec.provisioned) {
    for (let i = 0; i < users.length; i += 32) await Promise.all(users.slice(i, i + 32).map((u) => provider.provisionUser!(u)));
  }
  const keyDomainId = pushed.keyDomainId.toString('hex');
  // The MSK the push made current (the control API's answer names it): the MTK updates go under it
  let pushedMskId: string | undefined;
  return {
    sut: { name: provider.name, faults: [] }, profile,
    target: { http: session.http!, host: session.nafFqdn, keyDomainId: pushed.keyDomainId, keyGroup }, keyDomainId: pushed.keyDomainId, keyGroup,
    pushGroup: async () => {
      const answer = await session.adapter.trigger('rotate-msk', { keyDomainId, keyGroup, push: true });
      pushedMskId = (answer.detail as { rotated?: { mskId?: string }[] } | undefined)?.rotated?.[0]?.mskId;
    },
    pullGroup: async () => { await session.adapter.trigger('rotate-msk', { keyDomainId, keyGroup, solicitedPull: true }); },
    mtkUpdate: async () => {
      const answer = await session.adapter.trigger('mtk-update', { keyDomainId, ...(pushedMskId ? { mskId: pushedMskId } : {}) });
      const mtkId = (answer.detail as { messages?: { mtkId?: string }[] } | undefined)?.messages?.[0]?.mtkId;
      if (!mtkId) throw new Error(`${provider.name}: the mtk-update answer names no MTK ID (control API MessagesResponse)`);
      return mtkId;
    },
    stop: () => session.close(),
  };
}

function wholeNumber(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} ${text}: a whole number from 0`);
  return Number(text);
}

/** `load merge`: the JSON summaries of processes run side by side, as one. */
function mergeFiles(files: string[]): AnySummary {
  if (files.length === 0) throw new UsageError('merge: the JSON summaries to merge');
  return mergeSummaries(files.map((f) => {
    try { return { name: f, text: readFileSync(f, 'utf8') }; } catch (e) { throw new MergeError(`${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  }));
}

/** Summaries (`load --json` outputs, each named for its errors) of request runs side by side, as one. */
function mergeSummaries(named: { name: string; text: string }[]): AnySummary {
  const parts = named.map(({ name, text }) => {
    try { return JSON.parse(text.trim().split('\n').at(-1)!) as LoadSummary & { sut?: AnySummary['sut'] }; } catch { throw new MergeError(`${name}: not a JSON summary of mbms-conform load --json`); }
  });
  for (const [i, p] of parts.entries()) {
    if (!(p.scenario in LOAD_SCENARIOS) || LOAD_SCENARIOS[p.scenario as LoadScenario].drive !== 'rate') throw new MergeError(`${named[i]!.name}: not a summary of a request run (push-group, pull-group and mtk-update runs merge their slices themselves)`);
  }
  let merged;
  try { merged = mergeLoadSummaries(parts); } catch (e) { throw new MergeError(`${(e as Error).message} (${named.map((n) => n.name).join(', ')})`); }
  return { ...merged, sut: parts[0]!.sut ?? { name: 'unknown', faults: [] } };
}

/** The UE slices' own lag: a line, and a warning when they ran late (their time-outs may be their own). */
function starved(s: { testerLoopDelayMs: { p99: number; max: number }; testerStarved: boolean }): string {
  return `  UE slices' event-loop delay (the tester's own): p99 ${s.testerLoopDelayMs.p99} ms, max ${s.testerLoopDelayMs.max} ms${s.testerStarved
    ? ' — the tester ran late: its time-outs and late copies are partly its own starvation, not the BM-SC\'s alone (verdict inconclusive unless a conformance failure)' : ''}`;
}

export function formatLoadSummary(s: AnySummary): string {
  const p = (x: { p50: number; p90: number; p99: number; p999: number; max: number }) => `p50 ${x.p50} ms, p90 ${x.p90} ms, p99 ${x.p99} ms, p99.9 ${x.p999} ms, max ${x.max} ms`;
  const faults = s.sut.faults.length ? ` (faults: ${s.sut.faults.join(', ')})` : '';
  const tail = [
    `  errors: ${Object.keys(s.errors).length ? Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`,
    `  conformance failures: ${Object.keys(s.conformanceFailures).length ? Object.entries(s.conformanceFailures).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`,
    ...(s.evidence.length ? ['  evidence (the first of each check; lost ACKs under retransmission.after-ack):'] : []),
    ...s.evidence.map((e) => `    ${e.check} (${e.ue}${e.address ? ` at ${e.address}` : ''}${e.at ? `, ${new Date(e.at).toISOString()}` : ''}): ${e.message}${e.expected !== undefined ? `; expected ${JSON.stringify(e.expected)}` : ''}${e.actual !== undefined ? `, got ${JSON.stringify(e.actual)}` : ''}${e.pcap ? `; packets: ${e.pcap}` : ''}`),
  ];
  if (isGroupSummary(s)) {
    const ms = (x: number | undefined) => (x === undefined ? 'not all' : `${(x / 1000).toFixed(2)} s`);
    return `${[
      `mbms-conform load: ${s.scenario} against the ${s.sut.name}${faults}: a new MSK ${s.scenario === 'pull-group' ? 'announced by a solicited-pull trigger and requested by' : 'pushed to'} ${s.ues} subscribed UEs (${s.unsubscribedUes} more not subscribed), UE sockets in ${s.processes ? `${s.processes} process${s.processes === 1 ? '' : 'es'}` : 'this process'}`,
      `  delivered:    ${s.delivered} of ${s.ues} UEs, all in ${ms(s.allDeliveredMs)} (first after ${s.firstDeliveryMs ?? '-'} ms)`,
      `  acknowledged: ${s.acknowledged} of ${s.ues} UEs, all in ${ms(s.allAcknowledgedMs)} (${s.completedPerSecond} UEs/s)`,
      ...(s.pull ? [`  triggers taken ${s.pull.triggers}, MSK requests granted ${s.pull.granted}; 200 OK after the trigger: ${p(s.pull.okMs)}`] : []),
      `  delivery after the ${s.scenario === 'pull-group' ? 'BM-SC was asked' : 'push'}: ${p(s.latencyMs)}`,
      `  messages ${s.messages}, ACKs sent ${s.acksSent}, retransmissions ${s.retransmissions}, lost ACKs ${s.lostAcks}${s.bmscOutstandingAcks !== undefined ? `, deliveries the BM-SC still waits an ACK for ${s.bmscOutstandingAcks}` : ''}`,
      starved(s),
      ...tail,
    ].join('\n')}\n`;
  }
  if (s.scenario === 'mtk-update') {
    return `${[
      `mbms-conform load: mtk-update against the ${s.sut.name}${faults}: ${s.updates} MTK updates (${s.rate}/s for ${s.durationS} s) to ${s.ues} subscribed UEs (${s.unsubscribedUes} more not subscribed), UE sockets in ${s.processes ? `${s.processes} process${s.processes === 1 ? '' : 'es'}` : 'this process'}`,
      `  push of the MSK first: ${s.push.acknowledged} of ${s.ues} UEs acknowledged${s.push.allAcknowledgedMs !== undefined ? ` in ${(s.push.allAcknowledgedMs / 1000).toFixed(2)} s` : ''}`,
      `  new MTKs taken: ${s.delivered} of ${s.expected} (${s.completedPerSecond}/s)`,
      `  each UE's new MTK after its update: ${p(s.latencyMs)}`,
      `  an update to every UE:              ${p(s.fanOutMs)}`,
      `  MTK messages ${s.mtkMessages} (repeats ${s.repeats}); the push: retransmissions ${s.retransmissions}, lost ACKs ${s.lostAcks}`,
      starved(s),
      ...tail,
    ].join('\n')}\n`;
  }
  const lines = [
    `mbms-conform load: ${s.scenario} against the ${s.sut.name}${faults}, ${s.ues} UEs, ${s.mode === 'open-loop' ? `${s.rate}/s offered` : `${s.concurrency} in flight`} for ${s.durationS} s${'merged' in s ? ` (${(s as { merged: { processes: number } }).merged.processes} slices merged)` : ''}`,
    ...(s.warmup ? [`  warm-up:    ${s.warmup.seconds} s, ${s.warmup.offered} offered, ${s.warmup.completed} completed, ${s.warmup.errors} errors (left out of the figures below but the failures)`] : []),
    `  procedures: ${s.offered} offered, ${s.completed} completed (${s.completedPerSecond}/s)`,
    `  latency:    ${p(s.latencyMs)}`,
    `    401 challenge:  ${p(s.phasesMs.challenge)} (${s.phasesMs.challenge.count})`,
    `    200 OK:         ${p(s.phasesMs.ok)}`,
    `    MIKEY delivery: ${p(s.phasesMs.delivery)} (after the 200 OK)`,
    `  scheduler lag (the tester's own): p99 ${s.schedulerLagMs.p99} ms, max ${s.schedulerLagMs.max} ms`,
    ...(s.testerStarved ? ['  the tester could not keep its own schedule: the latencies, time-outs and lost ACKs above are partly its own starvation, not the BM-SC\'s alone (the offered load is beyond what this machine runs)'] : []),
    `  retransmissions received: ${s.retransmissions}; lost ACKs: ${s.lostAcks}${s.abandonedDeliveries ? ` (and ${s.abandonedDeliveries} MIKEY messages after procedures given up on a time-out, not counted as lost ACKs)` : ''}`,
    ...tail,
  ];
  return `${lines.join('\n')}\n`;
}
