// Per-case state of the UE-role steps (suites/ue): the tester BM-SC told who the UE under test is, the MIKEY
// messages the tester composed (by `as:` name), and how often the UE used each nonce (its nc must count them,
// RFC 2617 §3.2.2).

import type { TesterBmsc } from '../../peers/index.ts';
import { HarnessError } from '../errors.ts';
import type { CaseRun } from '../context.ts';

/** A MIKEY message the tester BM-SC composed (lib/peers tester-bmsc-mikey.ts ComposedMikey). */
export type ComposedMikeyOf = Awaited<ReturnType<TesterBmsc['sendComposed']>>['composed'];
/** What `send-mikey` may ask the composer for. */
export type ComposeRequestOf = Parameters<TesterBmsc['sendComposed']>[0];

export interface UeRoleState {
  /** Composed (or replayed) messages by `as:` name. */
  composed: Map<string, ComposedMikeyOf>;
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
    bmsc.configure({
      identity: { btid: session.identity.btid, ksNaf: session.identity.ksNaf },
      nafFqdn: session.nafFqdn,
      profile: run.profile,
      services: [...byDomain.values()],
      ueMikey: session.mikey,
    });
  }
  return bmsc;
}
