// Steps for both roles: triggering the SUT, receiving and verifying MIKEY messages from the SUT, silence
// windows and ordering assertions (protocol §7).

import { mikeyProfile, type KeyIds } from '../../mikey/index.ts';
import { HarnessError, TriggerError } from '../errors.ts';
import { evidence, missedDeadline, named, note, remember, windowMs, type CaseRun, type ReceivedMessage, type StepHandler } from '../context.ts';
import type { TriggerAction, TriggerParams } from '../sut.ts';
import type { MikeyEvent, TraceEvent } from '../trace-types.ts';
import { classifyDatagram, judgeSubscribedMsk, judgeTriggerKeyIds, judgeUnsubscribedMsk, keyIdsJson, verifyAck, verifyKeyMessage, type CheckOutcome, type ReceivedKind } from '../verify/mikey.ts';
import { ackCrossingMs, judgeCopyCsbId, judgeCounter, judgeMtkId, judgeNoKeyInBody, judgeRandPerMsk, judgeSameCsbId } from '../verify/history.ts';
import { ioTurn, lagDuring, readDelayBound, startLoopMonitor, windowClock } from '../loop-monitor.ts';
import { recordMessageChecks } from './record.ts';
import { isStray, retransmissionKeys } from '../settle.ts';
import { OfflineAnalyzer } from '../offline/analyzer.ts';
import type { MskKey } from '../offline/keys.ts';
import { blameOf } from '../rules.ts';
import { defineStep } from './step.ts';

const hex = (b: Buffer | undefined) => b?.toString('hex');

// Running before any case receives anything, so every read delay can be bounded (intervalCheck).
startLoopMonitor();

export const trigger: StepHandler = async (run, p) => {
  const action = p.action as TriggerAction;
  const identity = run.session.identity;
  const subscribed = run.session.keys.subscribed[0];
  const params: TriggerParams = {};
  if (['msk-push', 'solicited-pull'].includes(action)) params.btid = identity.btid;
  if (p.v !== undefined) params.v = p.v;
  if (action === 'rotate-msk' && subscribed) {
    params.keyDomainId = subscribed.keyDomainId.toString('hex');
    params.keyGroup = Math.floor(subscribed.mskId / 0x10000);
    if (p.push !== undefined) params.push = p.push;
  }
  if (action === 'bootstrap') { params.btid = identity.btid; params.ksNaf = identity.ksNaf.toString('hex'); }
  // The trace names what the trigger carried, never a key (a bootstrap hands the SUT its Ks_NAF).
  const before = note(run, `trigger ${action} via ${run.session.adapter.kind} ${JSON.stringify({ ...params, ...(params.ksNaf ? { ksNaf: '(secret, not shown)' } : {}) })}`);
  if (action === 'msk-request') {
    // The UE's MSK request is an HTTP exchange with the tester BM-SC that later steps conduct: the adapter's
    // answer comes only after it, so the trigger is started and not awaited (its outcome is noted).
    run.session.adapter.trigger(action, params, run.signal).then(
      (outcome) => { if (!run.signal.aborted) try { note(run, `trigger ${action}: ${outcome.summary}`); } catch { /* trace closed */ } },
      (e: Error) => { if (!run.signal.aborted) try { note(run, `trigger ${action} failed: ${e instanceof TriggerError ? e.reason : e.message}`); } catch { /* trace closed */ } },
    );
    remember(run, p.as, { events: [before] });
    return;
  }
  try {
    const outcome = await run.session.adapter.trigger(action, params, run.signal);
    const after = note(run, `trigger ${action}: ${outcome.summary}`);
    remember(run, p.as, { events: [before, after] });
  } catch (e) {
    if (!(e instanceof TriggerError)) throw e;
    // The SUT could not be driven into the procedure: nothing can be judged (INCONC, never PASS or ERROR).
    run.tracker.inconc('trigger', `could not trigger '${action}': ${e.reason}`, evidence(before));
    return 'stop';
  }
};

/** Which received classes an expectation accepts (a wrong class then fails verification with evidence). */
function accepts(kind: string, got: ReceivedKind): boolean {
  if (got === 'undecodable') return true;
  if (kind === 'msk' || kind === 'trigger') return got === 'msk' || got === 'trigger';
  if (kind === 'mtk') return got === 'mtk';
  if (kind === 'ack') return got === 'ack' || got === 'error';
  return false;
}

function sameKeyIds(a: KeyIds, b: KeyIds): boolean {
  return hex(a.keyDomainId) === hex(b.keyDomainId) && hex(a.mskId) === hex(b.mskId) && hex(a.mtkId) === hex(b.mtkId);
}

const firstId = (events: readonly TraceEvent[]) => (events.length === 0 ? 0 : Math.min(...events.map((e) => e.id)) - 1);

export const expectMikey: StepHandler = async (run, p) => {
  const kind: string = p.kind;
  const profile = run.profile;
  const window = windowMs(profile, p.within, kind === 'ack' ? 'ack' : 'deliver');
  let count: number;
  if (p.count === 'granted') {
    count = run.last.granted?.length ?? 0;
    if (count === 0) {
      run.tracker.inconc('mikey.precondition', 'no MSK was granted by the last 200 OK, so no MSK message can be expected');
      return 'stop';
    }
  } else if (p.count === 'retransmissions') count = profile.retransmission.count;
  else count = p.count ?? 1;
  // `after`: the message must come after the named step began (its first event).
  const afterId = p.after ? firstId(named(run, p.after).events) : 0;
  const retxOf = p.retransmissionOf ? named(run, p.retransmissionOf).messages?.[0] : undefined;
  if (p.retransmissionOf && !retxOf) {
    run.tracker.inconc('mikey.precondition', `'${p.retransmissionOf}' holds no message to compare retransmissions with`);
    return 'stop';
  }
  const nextOfRef = typeof p.keyIds === 'string' && p.keyIds.startsWith('next-of:') ? p.keyIds.slice('next-of:'.length) : undefined;
  const nextOf = nextOfRef ? named(run, nextOfRef).messages?.[0]?.verdict.keyIds : undefined;
  const sutMikey = run.session.mikey;
  const matches = (e: TraceEvent): e is MikeyEvent => {
    if (e.kind !== 'mikey' || e.actor !== 'sut' || run.consumed.has(e.id) || e.id <= afterId) return false;
    const cls = classifyDatagram(e.bytes);
    if (!accepts(kind, cls.kind)) return false;
    if (retxOf && cls.keyIds && !sameKeyIds(cls.keyIds, retxOf.verdict.keyIds)) return false;
    // A new MSK is expected: late copies of the old one (a retransmission that crossed the ACK) are not it.
    if (nextOf && cls.keyIds && sameKeyIds(cls.keyIds, nextOf)) return false;
    return true;
  };
  const start = note(run, `waiting up to ${window} ms for ${count} ${kind} message(s)${retxOf ? ` (retransmissions of '${p.retransmissionOf}')` : ''}${sutMikey ? ` from ${sutMikey.address}` : ''}`);
  const found: MikeyEvent[] = [];
  // The window bounds what the SUT must do, in time the tester was running (loop-monitor.ts windowClock).
  const clock = windowClock(window);
  const meter = clock.meter;
  let drained = false;
  while (found.length < count && !run.signal.aborted) {
    const existing = run.trace.events.find((e): e is MikeyEvent => matches(e) && !found.includes(e as MikeyEvent));
    if (existing) { found.push(existing); run.consumed.add(existing.id); continue; }
    const remaining = clock.remaining();
    if (remaining <= 0) {
      if (!drained) {
        // The window is over: datagrams that reached the tester's socket within it may not be read yet.
        await ioTurn();
        drained = true;
        continue;
      }
      const back = clock.extend();
      if (back === 0) break;
      drained = false;
      note(run, `the tester was not running for part of the window (a loaded host): ${Math.round(back)} ms of the window given back`);
      continue;
    }
    const next = await run.trace.waitFor((e) => matches(e) && !found.includes(e as MikeyEvent), remaining, { signal: run.signal }).catch(() => undefined);
    if (next) {
      found.push(next as MikeyEvent);
      run.consumed.add(next.id);
    }
  }
  const end = note(run, `${found.length} of ${count} ${kind} message(s) received`);
  const received: ReceivedMessage[] = [];
  const entry = remember(run, p.as, { events: found, messages: received });
  if (found.length < count && run.signal.aborted) {
    run.tracker.inconc('mikey.delivery', `the wait for ${count} ${kind} message(s) was cut short (case stopped) after ${found.length}`, evidence(start, ...found));
    return 'stop';
  }
  if (found.length < count) {
    const others = run.trace.events.filter((e): e is MikeyEvent => e.kind === 'mikey' && e.actor === 'sut' && e.id > start.id && !found.includes(e));
    if (p.optional) note(run, `optional: ${found.length} of ${count} ${kind} message(s)`);
    else {
      missedDeadline(run, meter, window, missingRule(kind, retxOf), `the SUT sends ${count} ${kind} message(s) within ${window} ms`,
        `${count} ${kind} message(s)`, found.length === 0 ? `none${others.length ? ` (other MIKEY datagrams: ${others.map((o) => `frame ${o.frames.join(',')}`).join('; ')})` : ''}` : `${found.length}`,
        evidence(start, end, ...found, ...others));
    }
  }
  const mikey = mikeyProfile(profile.mikey as Parameters<typeof mikeyProfile>[0]);
  for (const event of found) {
    const frame = `frame ${event.frames.join(',')}`;
    if (kind === 'ack') {
      const original = p.answers ? named(run, p.answers).sent?.[0]?.bytes : undefined;
      if (!original) throw new HarnessError(`expect-mikey ack: 'answers' names no sent message`);
      const { checks } = verifyAck(event.bytes, { original, psk: run.session.identity.ksNaf, profile: mikey });
      recordMessageChecks(run, `ACK ${frame}`, checks, evidence(event));
      continue;
    }
    let psk = run.session.identity.ksNaf;
    let derivationRand: Buffer | undefined;
    let mskKeyIds: KeyIds | undefined;
    if (kind === 'mtk') {
      const msk = p.msk ? named(run, p.msk).messages?.[0] : undefined;
      const key = msk?.verdict.keyData[0]?.key;
      if (!msk || !key) {
        run.tracker.inconc('mikey.precondition', `no verified MSK${p.msk ? ` in '${p.msk}'` : ''} to check the MTK message with`, evidence(event));
        continue;
      }
      psk = key;
      // O15: MTK-message keys from the MSK and the RAND of the MSK message (or an empty RAND).
      derivationRand = mikey.mtkRandSource === 'msk-rand' ? msk.verdict.rand : Buffer.alloc(0);
      mskKeyIds = msk.verdict.keyIds;
    }
    const vWanted = kind === 'mtk' ? false : p.v === 'set' ? true : p.v === 'clear' ? false : p.v === 'profile' ? run.capabilities['ack-request'] === true : undefined;
    const verdict = verifyKeyMessage(event.bytes, { kind: kind as 'msk' | 'mtk' | 'trigger', psk, derivationRand, profile: mikey, v: vWanted });
    const checks: CheckOutcome[] = [...verdict.checks];
    checks.push(...keyIdChecks(run, p, kind, verdict.keyIds, mskKeyIds, found.length));
    checks.push(...historyChecks(run, kind, event, verdict, retxOf, mskKeyIds, mikey.csbId.msk));
    if (typeof p.csbId === 'string' && verdict.csbId !== undefined) {
      // `csbId: same-as:<ref>`: judged where the profile fixes the CSB ID for this kind (O10), else not applicable
      const ref = p.csbId.slice('same-as:'.length);
      const other = named(run, ref).messages?.[0]?.verdict.csbId;
      const policy = kind === 'mtk' ? mikey.csbId.mtk : mikey.csbId.msk;
      const judged = other === undefined ? undefined : judgeSameCsbId(verdict.csbId, { csbId: other, where: `'${ref}'` }, kind as 'msk' | 'mtk' | 'trigger', policy);
      if (other === undefined) run.tracker.inconc('mikey.precondition', `'${ref}' holds no message whose CSB ID to compare with`, evidence(event));
      else if (!judged) run.tracker.notApplicable('mikey.csb-id', `the profile lets the CSB ID of ${kind} messages change (O10 ${policy}): nothing to compare`);
      else checks.push(...judged);
    }
    // The MSK delivered after a 200 OK must not have travelled in clear in that answer (msk-response.no-key).
    const ok = run.last.request?.exchange?.response;
    const msk = kind === 'msk' && verdict.macValid ? verdict.keyData[0]?.key : undefined;
    if (msk && ok?.status === 200) checks.push(judgeNoKeyInBody(ok.body, msk, `${hex(verdict.keyIds.keyDomainId)}/${hex(verdict.keyIds.mskId)}`));
    if (retxOf) checks.push(...intervalCheck(run, retxOf, found, event));
    received.push({ event, verdict });
    // The SUT's current MSK is learnt from the EXT key IDs (clear text, RFC 4563 §4) of a message whose key
    // IDs passed their checks, whatever else failed: a wrong MAC does not move the current MSK, a wrong key ID is not news.
    if (kind === 'msk' && checks.every((c) => c.ok || c.check !== 'mikey.key-ids') && verdict.keyIds.keyDomainId && verdict.keyIds.mskId?.length === 4) {
      run.deliveredMsks.push({ keyDomainId: verdict.keyIds.keyDomainId.toString('hex'), mskId: verdict.keyIds.mskId.readUInt32BE(0) });
    }
    recordMessageChecks(run, `${kind.toUpperCase()} message ${frame}`, checks, evidence(event));
  }
  // Exactly one message per granted MSK (A-B4): the granted IDs are all covered.
  if (p.count === 'granted' && p.keyIds === 'requested' && received.length === count) {
    const granted = (run.last.granted ?? []).map((g) => g.toString(16).padStart(8, '0')).sort();
    const got = received.map((r) => hex(r.verdict.keyIds.mskId)).sort();
    const ok = granted.every((g, i) => g === got[i]);
    if (ok) run.tracker.pass('mikey.per-granted', 'one MSK message per granted MSK', evidence(...found));
    else run.tracker.fail('mikey.per-granted', 'one MSK message per MSK granted in the 200 OK (A-B4)', granted, got, evidence(...found));
  }
  void entry;
};

/**
 * The rule a missing message breaks, as analyze names it: missing copies are the retransmission rule's
 * (O18), a missing ACK the UE's (ack.iff-v), any other missing message the delivery's.
 */
function missingRule(kind: string, retxOf: ReceivedMessage | undefined): string {
  if (kind === 'ack') return 'ack.iff-v';
  return retxOf ? 'retransmission.count' : 'mikey.delivery';
}

/** Key ID expectations of the step (RFC 4563 §4, protocol §6.2). */
function keyIdChecks(run: CaseRun, p: Record<string, any>, kind: string, ids: KeyIds, mskKeyIds: KeyIds | undefined, _n: number): CheckOutcome[] {
  const out: CheckOutcome[] = [];
  const show = keyIdsJson(ids);
  const group = (b: Buffer | undefined) => (b && b.length === 4 ? b.readUInt16BE(0) : undefined);
  const number = (b: Buffer | undefined) => (b && b.length === 4 ? b.readUInt16BE(2) : undefined);
  const subscribed = run.session.keys.subscribed;
  const unsubscribed = run.session.keys.unsubscribed;
  const unsubscribedMsk = kind === 'msk' ? judgeUnsubscribedMsk(ids, unsubscribed) : undefined;
  if (unsubscribedMsk) out.push(unsubscribedMsk);
  if (kind === 'mtk' && mskKeyIds) {
    const ok = hex(ids.keyDomainId) === hex(mskKeyIds.keyDomainId) && hex(ids.mskId) === hex(mskKeyIds.mskId);
    out.push(ok ? { check: 'mikey.key-ids', ok, message: 'EXT names the MSK protecting the MTK' } : { check: 'mikey.key-ids', ok, message: 'EXT names the MSK protecting the MTK (RFC 4563 §4)', expected: keyIdsJson(mskKeyIds), actual: show });
  }
  const spec: string | undefined = p.keyIds;
  if (!spec || spec === 'any') return out;
  if (spec === 'requested') {
    const granted = run.last.granted;
    const requested = run.last.requestedKeys ?? [];
    const ok = ids.mskId !== undefined && (granted
      ? granted.includes(ids.mskId.readUInt32BE(0))
      // A request for the current MSK (protocol §2.3, O3): Key Number 0 of one group, or 0x00000000 for any group.
      : requested.some((r) => (r.mskId === 0 ? subscribed.some((s) => Math.floor(s.mskId / 0x10000) === group(ids.mskId)) : r.mskId % 0x10000 === 0 ? Math.floor(r.mskId / 0x10000) === group(ids.mskId) : r.mskId === ids.mskId!.readUInt32BE(0))))
      && requested.some((r) => r.keyDomainId.equals(ids.keyDomainId ?? Buffer.alloc(0)));
    out.push(ok ? { check: 'mikey.key-ids', ok, message: `EXT key IDs ${show.keyDomainId}/${show.mskId} are a granted MSK` }
      : { check: 'mikey.key-ids', ok, message: 'EXT key IDs identify an MSK granted in the 200 OK (A-B4, RFC 4563 §4)', expected: (granted ?? requested.map((r) => r.mskId)).map((g) => g.toString(16).padStart(8, '0')), actual: show });
  } else if (spec === 'subscribed') {
    out.push(judgeSubscribedMsk(ids, subscribed));
  } else if (spec === 'zero') {
    // Solicited pull (source 6.3.2.1): the key IDs of the EXT payload set to 0x0 (which ones: O20).
    out.push(judgeTriggerKeyIds(ids, mikeyProfile(run.profile.mikey as Parameters<typeof mikeyProfile>[0])));
  } else {
    const [how, ref] = spec.split(':') as [string, string];
    const other = named(run, ref).messages?.[0]?.verdict.keyIds;
    if (!other) {
      out.push({ check: 'mikey.key-ids', ok: false, message: `'${ref}' holds no message to compare key IDs with`, expected: ref, actual: 'nothing' });
    } else if (how === 'same-as') {
      const ok = hex(other.keyDomainId) === hex(ids.keyDomainId) && hex(other.mskId) === hex(ids.mskId);
      out.push(ok ? { check: 'mikey.key-ids', ok, message: `same MSK as '${ref}'` } : { check: 'mikey.key-ids', ok, message: `the same MSK as '${ref}'`, expected: keyIdsJson(other), actual: show });
    } else {
      // next-of: same Key Domain and Key Group, higher Key Number (TS 31.102 EF_MSK, protocol §6.2, P-B1).
      const ok = hex(other.keyDomainId) === hex(ids.keyDomainId) && group(other.mskId) === group(ids.mskId) && (number(ids.mskId) ?? 0) > (number(other.mskId) ?? 0);
      out.push(ok ? { check: 'mikey.key-ids', ok, message: `MSK ${show.mskId} follows ${hex(other.mskId)} in the same key group` }
        : { check: 'mikey.key-ids', ok, message: `an MSK of the same key group with a higher Key Number than '${ref}' (P-B1)`, expected: `group ${group(other.mskId)}, number > ${number(other.mskId)}`, actual: show });
    }
  }
  return out;
}

/**
 * O18: retransmissions follow the profile's interval. Only a lower bound is judged (half the interval, so
 * scheduling jitter never fails a SUT); the upper bound is the step's window. A BM-SC that bursts its copies
 * fails here.
 */
function intervalCheck(run: CaseRun, original: ReceivedMessage, found: readonly MikeyEvent[], event: MikeyEvent): CheckOutcome[] {
  const sequence = [original.event, ...found];
  const i = sequence.indexOf(event);
  if (i <= 0) return [];
  const gap = event.time - sequence[i - 1]!.time;
  const min = run.profile.retransmission.intervalMs / 2;
  if (gap >= min) return [{ check: 'mikey.retransmission-interval', ok: true, message: `${Math.round(gap)} ms after the previous copy` }];
  // The times are when the tester read the copies: the previous copy may have arrived earlier by as much
  // as the tester's read delay (loop-monitor.ts), so only a gap short even allowing for that shows a burst.
  const readDelay = readDelayBound(sequence[i - 1]!.time);
  // An embedded SUT shares the tester's process: held with it, its timers fire late and then close
  // together. Copies closer than allowed while the process lagged that much are not evidence of a burst.
  const held = run.provider.embedded ? lagDuring(sequence[i - 1]!.time - min, event.time) : 0;
  if (gap + readDelay < min && held > min - gap) {
    return [{ check: 'mikey.retransmission-interval', ok: false, message: `retransmissions are spaced by the profile interval of ${run.profile.retransmission.intervalMs} ms (O18): not judged, the tester's process (and the embedded SUT in it) was held ${Math.round(held)} ms meanwhile`, expected: `>= ${min} ms after the previous copy (frame ${sequence[i - 1]!.frames.join(',')})`, actual: `${Math.round(gap)} ms`, testerStarved: { wallMs: event.time - sequence[i - 1]!.time + min, cpuMs: 0, lagMs: held, longestStallMs: held } }];
  }
  return gap + readDelay >= min
    ? [{ check: 'mikey.retransmission-interval', ok: true, message: `${Math.round(gap)} ms after the previous copy as read, but the tester read that copy up to ${Number.isFinite(readDelay) ? `${Math.round(readDelay)} ms` : 'an unknown time'} late (its process was not running): no burst shown` }]
    : [{ check: 'mikey.retransmission-interval', ok: false, message: `retransmissions are spaced by the profile interval of ${run.profile.retransmission.intervalMs} ms (O18)`, expected: `>= ${min} ms after the previous copy (frame ${sequence[i - 1]!.frames.join(',')})`, actual: `${Math.round(gap)} ms` }];
}

/** Checks across the messages of the case (verify/history.ts): counters, RAND per MSK, MTK IDs, retransmissions (O18). */
function historyChecks(run: CaseRun, kind: string, event: MikeyEvent, v: ReturnType<typeof verifyKeyMessage>, retxOf: ReceivedMessage | undefined, mskKeyIds: KeyIds | undefined, csbPolicy: string): CheckOutcome[] {
  const out: CheckOutcome[] = [];
  if (v.counter === undefined) return out;
  const space = kind === 'mtk' ? `msk:${hex(mskKeyIds?.keyDomainId)}/${hex(mskKeyIds?.mskId)}` : 'muk';
  let prev = run.counters.get(space);
  const memoryKey = space === 'muk' ? `${run.session.identity.btid}|muk` : space;
  const earlier = !prev ? run.counterHistory?.get(memoryKey) : undefined;
  if (earlier) {
    // The SUT kept its state since an earlier case: its counter must continue from there (protocol §6.1).
    prev = { value: earlier.value, event: note(run, `COUNTER ${earlier.value} was the highest seen for ${space === 'muk' ? `the MUK of ${run.session.identity.btid}` : space} in ${earlier.caseId}`) };
    run.counters.set(space, prev);
  }
  const where = (e: TraceEvent): string => (e.kind === 'note' ? e.text : `frame ${e.frames.join(',')}`);
  out.push(...judgeCounter(v.counter, prev ? { value: prev.value, where: where(prev.event) } : undefined, {
    key: kind === 'mtk' ? 'msk' : 'muk', freshTs: run.profile.retransmission.freshTs, bytes: event.bytes,
    ...(retxOf ? { retransmissionOf: { bytes: retxOf.event.bytes, where: where(retxOf.event) } } : {}),
  }));
  if (!prev || v.counter > prev.value) run.counters.set(space, { value: v.counter, event });
  if (retxOf && v.csbId !== undefined && retxOf.verdict.csbId !== undefined) {
    out.push(...judgeCopyCsbId(v.csbId, { csbId: retxOf.verdict.csbId, where: where(retxOf.event) }, csbPolicy));
  }
  if (kind === 'msk' && v.rand && v.keyIds.mskId) {
    const key = `${hex(v.keyIds.keyDomainId)}/${hex(v.keyIds.mskId)}`;
    const seen = run.randByMsk.get(key);
    out.push(...judgeRandPerMsk(v.rand, seen ? { rand: seen.rand, where: where(seen.event) } : undefined, key));
    if (!seen) run.randByMsk.set(key, { rand: v.rand, event });
  }
  if (kind === 'mtk' && v.keyIds.mtkId) {
    const key = `${hex(v.keyIds.keyDomainId)}/${hex(v.keyIds.mskId)}`;
    const value = BigInt(`0x${v.keyIds.mtkId.toString('hex') || '0'}`);
    const before = run.mtkIds.get(key);
    // A step that expects a new MTK (after an MTK update) wants a higher ID; any other sees repeats too.
    const newMtk = run.step.params.mtkId === 'increasing';
    if (newMtk || before) out.push(...judgeMtkId(value, before ? { value: before.value, where: where(before.event) } : undefined, { newMtk }));
    if (!before || value > before.value) run.mtkIds.set(key, { value, event });
  }
  return out;
}

export const expectSilence: StepHandler = async (run, p) => {
  const window = windowMs(run.profile, p.window, 'silence');
  const mode: string = p.mikey ?? 'any';
  const of = p.of ? named(run, p.of) : undefined;
  const ofIds = of?.messages?.[0]?.verdict.keyIds;
  const afterId = p.after ? Math.max(0, ...named(run, p.after).events.map((e) => e.id)) : undefined;
  const unsubscribedGroups = run.session.keys.unsubscribed.map((u) => `${u.keyDomainId.toString('hex')}/${Math.floor(u.mskId / 0x10000)}`);
  const start = note(run, `silence window of ${window} ms begins (${mode === 'ignore' ? '' : `MIKEY: ${mode}`}${p.http !== false ? ', HTTP requests' : ''})`);
  const from = afterId ?? start.id;
  const breaks = (e: TraceEvent): boolean => {
    if (e.id <= from || e.actor !== 'sut' || isStray(run, e)) return false;
    if (e.kind === 'http-request') return p.http !== false;
    if (e.kind !== 'mikey' || mode === 'ignore') return false;
    if (mode === 'any') return true;
    const cls = classifyDatagram(e.bytes);
    if (mode === 'none-of-kind-msk') return cls.kind === 'msk';
    // A key delivered to this UE: MTK messages are group traffic on the bearer (a BM-SC may re-key on its
    // own schedule), so they do not break a "no key for this UE" silence.
    if (mode === 'key-delivery') return cls.kind !== 'mtk';
    if (mode === 'retransmission') {
      if (!ofIds) return cls.kind === 'msk';
      return (cls.kind === 'msk' || cls.kind === 'trigger' || cls.kind === 'mtk') && !!cls.keyIds && sameKeyIds(cls.keyIds, ofIds);
    }
    if (mode === 'unsubscribed') {
      const id = cls.keyIds?.mskId;
      return cls.kind === 'msk' && !!id && id.length === 4 && unsubscribedGroups.includes(`${cls.keyIds!.keyDomainId?.toString('hex')}/${id.readUInt16BE(0)}`);
    }
    return false;
  };
  // A copy of `of` may cross the tester's ACK in flight: the SUT sent it before the ACK reached it. One
  // such copy arriving within one retransmission interval plus T_ack of the window start is tolerated (and
  // noted); any further copy, or a later one, breaks the silence (O18: retransmission stops after the ACK).
  // Other silences tolerate nothing: on the wire a copy (new CSB ID and COUNTER allowed, O10, O18) and a
  // second delivery of the same MSK look alike, and a second delivery is what they exist to catch.
  const graceUntil = start.time + ackCrossingMs(run.profile);
  let tolerated: TraceEvent | undefined;
  const breaksAfterGrace = (e: TraceEvent): boolean => {
    if (!breaks(e)) return false;
    if (mode === 'retransmission' && !tolerated && e.time <= graceUntil) {
      tolerated = e;
      note(run, `tolerated one copy of '${p.of}' in flight when the window began (frame ${e.frames.join(',')})`);
      return false;
    }
    return true;
  };
  const already = run.trace.events.find(breaksAfterGrace);
  const offender = already ?? await run.trace.waitFor(breaksAfterGrace, window, { signal: run.signal }).catch(() => undefined);
  if (!offender && run.signal.aborted) {
    // The window was cut short: silence was not observed for its whole length, so nothing is judged.
    run.tracker.inconc('silence', `the silence window of ${window} ms was cut short (case stopped)`, evidence(start));
    return 'stop';
  }
  const end = note(run, `silence window ends${offender ? ' (broken)' : ''}`);
  // Copies of one message are judged by the retransmission rules, under the names analyze gives them
  // (rules.ts): after a valid ACK none may follow; without one, none beyond the profile's count (O18).
  const ofKeys = of?.messages?.[0] ? retransmissionKeys(of.messages[0].event.bytes) : undefined;
  const silenceCheck = mode !== 'retransmission' ? 'silence' : ofKeys && run.acknowledged.has(ofKeys) ? 'retransmission.after-ack' : 'retransmission.count';
  const what = `${mode === 'retransmission' ? `no copy of '${p.of}'` : mode === 'unsubscribed' ? 'no MIKEY message for the unsubscribed MSK' : mode === 'key-delivery' ? 'no MSK message or trigger' : 'no MIKEY message'}${p.http !== false ? ' and no HTTP request' : ''}`;
  if (offender) {
    // A UE under test that answers what it must not: the rule its answer breaks, as analyze names it.
    const check = (offender.kind === 'mikey' && run.bmsc && ruleBrokenByUe(run, offender)) || silenceCheck;
    run.tracker.fail(check, `${what} within ${window} ms`, `nothing from the SUT within ${window} ms`, describe(offender), evidence(start, offender, end));
  } else {
    run.tracker.pass(silenceCheck, `${what} within ${window} ms`, evidence(start, end));
  }
};

/**
 * UE under test: the rule a MIKEY datagram of the UE breaks (an ACK to a message with V=0, a bad MAC or a
 * replayed COUNTER; a second ACK; any reply to an MTK message), judged by the offline analyzer over this
 * case's timeline: the rule lives once (offline/analyzer.ts), the live silence window only finds the
 * datagram. Undefined when the analyzer finds no fault of the UE in it (the silence itself is then broken).
 */
function ruleBrokenByUe(run: CaseRun, offender: MikeyEvent): string | undefined {
  const { identity } = run.session;
  const msks: MskKey[] = [];
  for (const n of run.named.values()) {
    for (const s of n.sent ?? []) {
      const c = classifyDatagram(s.bytes);
      // An MTK message's PSK is its MSK: analyze needs it when the MSK arrived in an earlier case.
      if (c.kind === 'mtk' && s.key && c.keyIds?.keyDomainId && c.keyIds.mskId) msks.push({ keyDomainId: hex(c.keyIds.keyDomainId)!, mskId: hex(c.keyIds.mskId)!, key: s.key, ...(s.rand ? { rand: s.rand } : {}) });
    }
  }
  const analyzer = new OfflineAnalyzer({
    profile: run.profile, mikeyPorts: [offender.src.port],
    keys: { ues: [{ btid: identity.btid, ksNaf: identity.ksNaf, muk: identity.ksNaf, address: offender.src.address, mikeyPort: offender.src.port }], msks },
  });
  for (const e of run.trace.events) {
    if (e.id > offender.id) break;
    if (e.kind !== 'note' && !isStray(run, e)) analyzer.onEvent(e);
  }
  const found = analyzer.finish().procedures.flatMap((p) => p.findings)
    .find((f) => f.verdict === 'FAIL' && f.evidence.events.includes(offender.id) && (f.blame ?? blameOf(f.check)) === 'ue');
  return found?.check;
}

function describe(e: TraceEvent): string {
  if (e.kind === 'mikey') {
    const c = classifyDatagram(e.bytes);
    return `${c.kind} MIKEY message ${JSON.stringify(c.keyIds ? keyIdsJson(c.keyIds) : {})} in frame ${e.frames.join(',')}`;
  }
  if (e.kind === 'http-request') return `HTTP ${e.method} ${e.target} in frames ${e.frames.join(',')}`;
  return `${e.kind} event ${e.id}`;
}

export const assertOrder: StepHandler = async (run, p) => {
  const refs: string[] = p.sequence;
  const firsts = refs.map((r) => {
    const n = named(run, r);
    const events = n.events.filter((e) => e.kind !== 'note');
    return { ref: r, event: events.reduce<TraceEvent | undefined>((m, e) => (!m || e.id < m.id ? e : m), undefined) };
  });
  const missing = firsts.filter((f) => !f.event);
  if (missing.length > 0) {
    run.tracker.inconc('order', `cannot judge the order: ${missing.map((m) => `'${m.ref}'`).join(', ')} recorded nothing`);
    return;
  }
  const check = p.check ? `order.${p.check}` : 'order';
  for (let i = 1; i < firsts.length; i++) {
    const a = firsts[i - 1]!;
    const b = firsts[i]!;
    if (a.event!.id < b.event!.id) run.tracker.pass(check, `'${a.ref}' (frame ${a.event!.frames.join(',')}) before '${b.ref}' (frame ${b.event!.frames.join(',')})`, evidence(a.event, b.event));
    else run.tracker.fail(check, `'${a.ref}' happens before '${b.ref}'`, `${a.ref} then ${b.ref}`, `${b.ref} (frame ${b.event!.frames.join(',')}) came first, ${a.ref} (frame ${a.event!.frames.join(',')}) after`, evidence(b.event, a.event));
  }
};

// ---- the module's steps (registry: steps/index.ts) ----------------------------------------------------------

export const expectMikeyStep = defineStep({
  action: 'expect-mikey', roles: ['bmsc', 'ue'], handler: expectMikey,
  doc: "wait for MIKEY message(s) from the SUT and verify them",
  schema: {
    type: "object",
    additionalProperties: false,
    description: "wait for MIKEY message(s) from the SUT and verify them with lib/mikey primitives",
    required: [
      "kind"
    ],
    properties: {
      as: {
        "$ref": "#/definitions/name"
      },
      kind: {
        enum: [
          "msk",
          "mtk",
          "trigger",
          "ack"
        ],
        description: "msk/trigger: protected with the MUK; mtk: with the MSK of `msk`; ack: verification message answering `answers`"
      },
      within: {
        "$ref": "#/definitions/window"
      },
      count: {
        description: "how many messages: a number, 'granted' (one per MSK granted in the latest 200 OK, A-B4), or 'retransmissions' (the profile's retransmission count, O18)",
        oneOf: [
          {
            type: "integer",
            minimum: 1
          },
          {
            enum: [
              "granted",
              "retransmissions"
            ]
          }
        ]
      },
      after: {
        "$ref": "#/definitions/ref",
        description: "the message(s) must arrive after this step's events"
      },
      v: {
        enum: [
          "set",
          "clear",
          "any",
          "profile"
        ],
        description: "expected V flag (profile: the profile's V for this message kind)"
      },
      keyIds: {
        description: "requested: EXT key IDs equal the requested ones; zero: all key IDs 0x0 (solicited pull); next-of:<ref> same key group and higher key number than <ref>; same-as:<ref>",
        type: "string",
        pattern: "^(requested|zero|subscribed|any|next-of:[A-Za-z][A-Za-z0-9_-]*|same-as:[A-Za-z][A-Za-z0-9_-]*)$"
      },
      msk: {
        "$ref": "#/definitions/ref",
        description: "kind mtk: the step whose MSK message delivered the MSK protecting the MTKs"
      },
      mtkId: {
        enum: [
          "increasing",
          "any"
        ],
        description: "kind mtk: MTK ID strictly greater than the previous MTK ID of the same MSK in the case"
      },
      csbId: {
        type: "string",
        pattern: "^same-as:[A-Za-z][A-Za-z0-9_-]*$",
        description: "same-as:<ref>: the message carries the CSB ID of that step's message, where the profile fixes the CSB ID for this kind (O10: MTK fixed-per-msk, MSK fixed-per-muk); NOT-APPLICABLE where it lets it change"
      },
      retransmissionOf: {
        "$ref": "#/definitions/ref",
        description: "the message(s) are retransmissions of this one: same key IDs, each independently valid; fresh or repeated TS per profile.retransmission.freshTs"
      },
      answers: {
        "$ref": "#/definitions/ref",
        description: "kind ack: the tester's MIKEY message this ACK must answer"
      },
      optional: {
        type: "boolean",
        description: "absence is not a FAIL (the case records it)"
      }
    }
  },
});

export const triggerStep = defineStep({
  action: 'trigger', roles: ['bmsc', 'ue'], handler: trigger,
  doc: "ask the SUT to start a procedure through its adapter (control API, shell command, operator prompt)",
  schema: {
    type: "object",
    additionalProperties: false,
    required: [
      "action"
    ],
    description: "ask the SUT to start a procedure through its adapter (control API, shell command or operator prompt)",
    properties: {
      action: {
        enum: [
          "msk-push",
          "rotate-msk",
          "solicited-pull",
          "mtk-update",
          "msk-request",
          "delete-msk",
          "bootstrap"
        ]
      },
      v: {
        type: "boolean",
        description: "BM-SC: request an ACK (V flag) on the pushed messages"
      },
      keys: {
        "$ref": "#/definitions/keySelection"
      },
      push: {
        type: "boolean",
        description: "rotate-msk: also push the new MSK"
      },
      optional: {
        type: "boolean",
        description: "a SUT that cannot be triggered makes the case INCONC rather than ERROR (default true for prompts)"
      },
      as: {
        "$ref": "#/definitions/name"
      }
    }
  },
});

export const expectSilenceStep = defineStep({
  action: 'expect-silence', roles: ['bmsc', 'ue'], handler: expectSilence,
  doc: "nothing may arrive during the window",
  schema: {
    type: "object",
    additionalProperties: false,
    required: [
      "window"
    ],
    description: "nothing of the listed kinds may arrive from the SUT during the window",
    properties: {
      window: {
        "$ref": "#/definitions/window"
      },
      mikey: {
        enum: [
          "any",
          "key-delivery",
          "none-of-kind-msk",
          "retransmission",
          "unsubscribed",
          "ignore"
        ],
        default: "any",
        description: "which MIKEY messages break the silence: any; key-delivery (MSK messages, triggers and undecodable datagrams to the UE: not the MTK messages a BM-SC multicasts on its own); none-of-kind-msk (MSK messages only); retransmission (copies of `of`: same key IDs); unsubscribed (MSK messages of the unsubscribed key group); ignore"
      },
      http: {
        type: "boolean",
        default: true,
        description: "an HTTP request from the SUT (UE under test) breaks the silence"
      },
      of: {
        "$ref": "#/definitions/ref"
      },
      after: {
        "$ref": "#/definitions/ref",
        description: "count arrivals since this step (default: since the silence step starts)"
      }
    }
  },
});

export const assertOrderStep = defineStep({
  action: 'assert-order', roles: ['bmsc', 'ue'], handler: assertOrder,
  doc: "the first events of the named steps happened in this order",
  schema: {
    type: "object",
    additionalProperties: false,
    required: [
      "sequence"
    ],
    description: "the first event of each named step happened in this order",
    properties: {
      sequence: {
        type: "array",
        minItems: 2,
        items: {
          "$ref": "#/definitions/ref"
        }
      },
      check: {
        type: "string",
        description: "the protocol §7 check id to cite"
      }
    }
  },
});
