// Per-case state of the UE-role steps (suites/ue): the tester BM-SC told who the UE under test is, the MIKEY
// messages the tester composed (by `as:` name), and how often the UE used each nonce (its nc must count them,
// RFC 2617 §3.2.2).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ComposedMikey, TesterBmsc } from '../../peers/index.ts';
import { HarnessError } from '../errors.ts';
import type { CaseRun } from '../context.ts';

export interface UeRoleState {
  /** Composed (or replayed) messages by `as:` name. */
  composed: Map<string, ComposedMikey>;
  /** Requests of the UE seen per nonce value (the next use must carry nc = count + 1). */
  nonceUses: Map<string, number>;
}

const states = new WeakMap<CaseRun, UeRoleState>();

export function ueState(run: CaseRun): UeRoleState {
  let s = states.get(run);
  if (!s) {
    s = { composed: new Map(), nonceUses: new Map() };
    states.set(run, s);
  }
  return s;
}

/**
 * The tester BM-SC of the case, configured on first use with the UE under test as the SUT session describes it:
 * identity (B-TID, Ks_NAF = MUK), BM-SC FQDN, profile, the services (subscribed MSKs) and the UE's MIKEY socket.
 */
export function testerBmsc(run: CaseRun): TesterBmsc {
  const bmsc = run.bmsc;
  if (!bmsc) throw new HarnessError('this step needs the tester BM-SC (a UE under test)');
  if (!bmsc.configured) {
    const session = run.session;
    if (!session.mikey) throw new HarnessError('the SUT session names no MIKEY endpoint of the UE (SutSession.mikey)');
    const byDomain = new Map<string, { keyDomainId: Buffer; mskIds: number[] }>();
    for (const k of session.keys.subscribed) {
      const key = k.keyDomainId.toString('hex');
      const entry = byDomain.get(key) ?? { keyDomainId: k.keyDomainId, mskIds: [] };
      entry.mskIds.push(k.mskId);
      byDomain.set(key, entry);
    }
    if (byDomain.size === 0) throw new HarnessError('the SUT session lists no subscribed MSK of the UE (SutSession.keys.subscribed)');
    const carried = loadCarried(run);
    bmsc.configure({
      identity: { btid: session.identity.btid, ksNaf: session.identity.ksNaf },
      nafFqdn: session.nafFqdn,
      profile: run.profile,
      services: [...byDomain.values()],
      ueMikey: session.mikey,
      ...(carried?.counters ? { initialCounters: carried.counters } : {}),
      ...(carried?.keyNumbers ? { initialKeyNumbers: carried.keyNumbers } : {}),
    });
  }
  return bmsc;
}

// ---- replay counters across cases (external UEs) ------------------------------------------------------------
//
// A UE keeps its replay counters (one per MUK, one per MSK) for as long as its keys live (protocol §6.1;
// TS 31.102 EF_MUK/EF_MSK keep them in the USIM). A new tester BM-SC per case would start again at COUNTER 1
// and every case after the first would test replay protection instead of what it means to test. Like a real
// BM-SC, the tester therefore keeps the highest COUNTER it used per B-TID and counter space, and the highest
// Key Number per key group (the UE keeps two MSKs per group, TS 31.102 EF_MSK), in a small JSON file and starts
// the next case above them. The embedded reference UE is fresh per case (new B-TID, no state):
// nothing is kept for it.

/** Directory of the counter files: MBMS_STATE_DIR, default reports/state. */
export function counterStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MBMS_STATE_DIR ?? join('reports', 'state'));
}

function counterFile(run: CaseRun): string | undefined {
  if (run.provider.embedded) return undefined;
  const safe = run.session.identity.btid.replace(/[^A-Za-z0-9@._-]/g, '_');
  return join(counterStateDir(), `ue-counters-${safe}.json`);
}

interface Carried { counters?: Record<string, number>; keyNumbers?: Record<string, number> }

function loadCarried(run: CaseRun): Carried | undefined {
  const file = counterFile(run);
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Carried;
  } catch {
    return undefined; // first case against this UE identity
  }
}

/** Writes the highest COUNTER per counter space after a message went out (atomically: write, then rename). */
export function saveCounters(run: CaseRun, bmsc: TesterBmsc): void {
  const file = counterFile(run);
  if (!file) return;
  mkdirSync(counterStateDir(), { recursive: true });
  const counters = Object.fromEntries(Object.entries(bmsc.composer.counters()).filter(([space]) => space === 'muk:current' || space.startsWith('msk:')));
  const tmp = `${file}.${process.pid}.tmp`;
  const keyNumbers = bmsc.composer.keyNumbers();
  writeFileSync(tmp, `${JSON.stringify({ btid: run.session.identity.btid, updated: new Date().toISOString(), counters, keyNumbers }, null, 2)}\n`);
  renameSync(tmp, file);
}
