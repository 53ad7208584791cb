// Case isolation against a long-lived BM-SC (one process for the whole run, as a vendor's SUT is).
//
// A BM-SC sends a V=1 message again until a valid ACK reaches it or it has sent the copies its O18
// schedule allows (protocol §1.2, profile O18). A case that leaves such a delivery open would hand its
// copies to the next case, which would judge them as its own (a "copy" it never caused, a silence broken
// by somebody else's message, a retransmission interval measured against another case's copy). Two
// mechanisms keep every case to what belongs to it:
//
//   settling   At the end of a case the tester acknowledges, with a valid ACK, every verified V=1 delivery
//              the case left unacknowledged, then waits out the crossing window (one retransmission
//              interval plus T_ack, the bound protocol §1.2 allows for a copy in flight) after the latest
//              ACK. A conformant BM-SC has stopped by then. A V=1 delivery the tester cannot acknowledge
//              (its MAC does not verify) is waited out to the O18 bound after its latest copy.
//   strays     A MIKEY message whose CSB ID, key IDs and COUNTER equal a message an earlier case received
//              is a copy of that earlier delivery: a new delivery carries a new COUNTER (protocol §6.1).
//              A UE's ACK whose CSB ID and COUNTER answer a message the tester sent in an earlier case is
//              that case's late ACK. Either is noted in the trace as belonging to the earlier case and
//              never judged in this one.
//
// Neither applies to an embedded SUT started fresh for each case: nothing outlives its case.

import { mikeyProfile } from '../mikey/index.ts';
import { note, type CaseRun } from './context.ts';
import type { SutProvider } from './sut.ts';
import type { MikeyEvent, TraceEvent } from './trace-types.ts';
import { ack } from './steps/tester-ue.ts';
import { ackCrossingMs } from './verify/history.ts';
import { classifyDatagram, verifyKeyMessage } from './verify/mikey.ts';

const hex = (b: Buffer | undefined) => b?.toString('hex') ?? '';

/** Messages remembered per SUT for stray marking: enough for any run, bounded whatever the SUT sends. */
const MEMORY_LIMIT = 20_000;

/** Per long-lived SUT: signature of every key message received (CSB ID, key IDs, COUNTER) -> the case that received it. */
const receivedBySut = new WeakMap<SutProvider, Map<string, string>>();

interface KeyMessageIdentity { keys: string; copy: string; answeredBy: string; v: boolean; kind: string }

/** How a sender matches a verification message to what it answers: CSB ID and COUNTER (RFC 3830 §5.3). */
const answerKey = (csbId: number, counter: bigint | undefined): string => `${csbId.toString(16)}|${counter ?? '-'}`;

const counterOf = (message: { payloads: readonly { type: string }[] }): bigint | undefined => {
  const t = message.payloads.find((p) => p.type === 'T') as { type: 'T'; tsValue: bigint } | undefined;
  return t?.tsValue;
};

/**
 * What identifies a key message: the key IDs it delivers; with its CSB ID and COUNTER, the message itself
 * (a retransmission may draw a new CSB ID and COUNTER, O10 and O18; a new delivery always has a new
 * COUNTER, protocol §6.1); and the CSB ID and COUNTER an ACK answering it echoes. Undefined for anything else.
 */
function identify(bytes: Buffer): KeyMessageIdentity | undefined {
  const c = classifyDatagram(bytes);
  if (!c.message || (c.kind !== 'msk' && c.kind !== 'trigger' && c.kind !== 'mtk')) return undefined;
  const answeredBy = answerKey(c.message.hdr.csbId, counterOf(c.message));
  const keys = `${c.kind}|${hex(c.keyIds?.keyDomainId)}/${hex(c.keyIds?.mskId)}/${hex(c.keyIds?.mtkId)}`;
  return { keys, copy: `${keys}|${answeredBy}`, answeredBy: `sent|${answeredBy}`, v: c.message.hdr.v === true, kind: c.kind };
}

/** The kind and key IDs of a key message: what its copies share (the key of CaseRun.acknowledged). */
export function retransmissionKeys(bytes: Buffer): string | undefined {
  return identify(bytes)?.keys;
}

/** Notes that the tester sent a valid ACK for the message `bytes` at `time` (settling needs no more for it). */
export function acknowledged(run: CaseRun, bytes: Buffer, time: number): void {
  const k = identify(bytes)?.keys;
  if (k) run.acknowledged.set(k, Math.max(time, run.acknowledged.get(k) ?? 0));
}

/** Whether an event is a copy of an earlier case's delivery (noted as such, never judged here). */
export function isStray(run: CaseRun, e: TraceEvent): boolean {
  return run.strays.has(e.id);
}

/**
 * Against a long-lived SUT: marks, as they arrive, the SUT's copies of messages that earlier cases
 * received. Returns the function that stops watching. Marked events are also `consumed`, so no
 * expectation matches them.
 */
export function watchStrays(run: CaseRun): () => void {
  if (run.provider.embedded) return () => undefined;
  const earlier = memoryOf(run.provider);
  return run.trace.onEvent((e) => {
    if (e.kind !== 'mikey' || e.actor !== 'sut') return;
    const id = identify(e.bytes);
    const from = id && earlier.get(id.copy);
    if (from) {
      mark(run, e, `a copy of a ${id.kind.toUpperCase()} message that ${from} received (CSB ID, key IDs and COUNTER equal)`);
      return;
    }
    // UE under test: a late ACK answering a message the tester BM-SC sent in an earlier case.
    const answered = !id ? ackedMessage(e.bytes) : undefined;
    const sentIn = answered && earlier.get(answered);
    if (sentIn) mark(run, e, `a verification message answering a message the tester sent in ${sentIn} (CSB ID and COUNTER)`);
  });
}

function mark(run: CaseRun, e: MikeyEvent, what: string): void {
  run.strays.add(e.id);
  run.consumed.add(e.id);
  note(run, `frame ${e.frames.join(',')}: ${what}: it belongs to that case and is not judged here`);
}

/** The message a verification message answers, as the sender matches it (the key `identify` gives as answeredBy). */
function ackedMessage(bytes: Buffer): string | undefined {
  const c = classifyDatagram(bytes);
  return c.kind === 'ack' && c.message ? `sent|${answerKey(c.message.hdr.csbId, counterOf(c.message))}` : undefined;
}

/**
 * At the end of a case against a long-lived BM-SC: acknowledges what the case left open and waits out
 * the window in which copies may still be on their way, so the next case starts clean. Returns what it
 * did, for the log. Never judges: the case's verdict is already made.
 */
export async function settleDeliveries(run: CaseRun, signal?: AbortSignal): Promise<string | undefined> {
  if (run.provider.embedded || !run.ue) return undefined;
  const profile = mikeyProfile(run.profile.mikey as Parameters<typeof mikeyProfile>[0]);
  await awaitGranted(run, signal);
  const latest = new Map<string, { event: MikeyEvent; id: KeyMessageIdentity }>();
  for (const e of run.trace.events) {
    if (e.kind !== 'mikey' || e.actor !== 'sut' || run.strays.has(e.id)) continue;
    const id = identify(e.bytes);
    if (id?.v && id.kind !== 'mtk') latest.set(id.keys, { event: e, id });
  }
  let until = 0;
  const acked: string[] = [];
  const waited: string[] = [];
  for (const [keys, { event, id }] of latest) {
    // Acknowledged after its latest copy arrived: nothing to send, only the crossing window to wait out.
    const before = run.acknowledged.get(keys);
    if (before !== undefined && before >= event.time) { until = Math.max(until, before + ackCrossingMs(run.profile)); continue; }
    const v = verifyKeyMessage(event.bytes, { kind: id.kind as 'msk' | 'trigger', psk: run.session.identity.ksNaf, profile });
    if (v.macValid && v.message) {
      const sent = await ack(run, event);
      until = Math.max(until, sent.time + ackCrossingMs(run.profile));
      acked.push(`frame ${event.frames.join(',')}`);
    } else {
      // Not ours to acknowledge: the BM-SC sends its remaining copies, at most O18's count, then stops.
      const r = run.profile.retransmission;
      until = Math.max(until, event.time + r.intervalMs * r.count + run.profile.timers.ackMs);
      waited.push(`frame ${event.frames.join(',')}`);
    }
  }
  const wait = until - (performance.timeOrigin + performance.now());
  if (acked.length === 0 && waited.length === 0 && wait <= 0) return undefined;
  note(run, `settling before the next case:${acked.length ? ` acknowledged ${acked.join(', ')};` : ''}${waited.length ? ` waiting out ${waited.join(', ')};` : ''} copies in flight awaited ${Math.max(0, Math.round(wait))} ms`);
  if (wait > 0) {
    // A bounded protocol window (no event ends it early: it is the absence of copies that is awaited).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
  return `settled ${acked.length} open deliver${acked.length === 1 ? 'y' : 'ies'}${waited.length ? `, waited out ${waited.length}` : ''}`;
}

/**
 * MSKs a 200 OK of the case granted but whose MSK message has not arrived: the BM-SC is still to send it
 * (within T_deliver of the 200 OK). It is awaited, so that it is settled here and not met by the next case.
 */
async function awaitGranted(run: CaseRun, signal?: AbortSignal): Promise<void> {
  const mskIdOf = (e: TraceEvent): number | undefined => {
    if (e.kind !== 'mikey' || e.actor !== 'sut' || run.strays.has(e.id)) return undefined;
    const c = classifyDatagram(e.bytes);
    return c.kind === 'msk' && c.keyIds?.mskId?.length === 4 ? c.keyIds.mskId.readUInt32BE(0) : undefined;
  };
  const received = new Set(run.trace.events.map(mskIdOf).filter((id) => id !== undefined));
  for (const { mskId, at } of run.granted) {
    if (received.has(mskId) || signal?.aborted) continue;
    const remaining = at + run.profile.timers.deliverMs - (performance.timeOrigin + performance.now());
    if (remaining <= 0) continue;
    note(run, `settling before the next case: awaiting the MSK message of ${mskId.toString(16).padStart(8, '0')} granted by a 200 OK (up to ${Math.round(remaining)} ms)`);
    const got = await run.trace.waitFor((e) => mskIdOf(e) === mskId, remaining, signal ? { signal } : {}).catch(() => undefined);
    if (got) received.add(mskId);
  }
}

/** After a case against a long-lived SUT: remembers the key messages it received, for stray marking later. */
export function rememberReceived(run: CaseRun, caseId: string): void {
  if (run.provider.embedded) return;
  const memory = memoryOf(run.provider);
  const keep = (key: string) => {
    if (memory.has(key)) return;
    memory.set(key, caseId);
    if (memory.size > MEMORY_LIMIT) memory.delete(memory.keys().next().value!);
  };
  for (const e of run.trace.events) {
    if (e.kind !== 'mikey' || run.strays.has(e.id)) continue;
    const id = identify(e.bytes);
    // What the SUT sent (its copies are this case's), or what the tester BM-SC sent (a late ACK of the UE
    // answering it is this case's).
    if (id) keep(e.actor === 'sut' ? id.copy : id.answeredBy);
  }
}

function memoryOf(sut: SutProvider): Map<string, string> {
  let m = receivedBySut.get(sut);
  if (!m) { m = new Map(); receivedBySut.set(sut, m); }
  return m;
}
