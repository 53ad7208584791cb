// The rules that span several messages, written once (rules.ts names them): the live steps
// (steps/common.ts) and `analyze` (offline/analyzer.ts) keep their own bookkeeping of what came before
// and ask these functions for the judgement. Each takes what it needs as plain values.

import type { MbmsProfile } from '../../mbms/index.ts';
import type { CheckOutcome, KeyMessageVerdict } from './mikey.ts';

/** The highest counter seen for one key (the MUK of a UE, or one MSK for MTK messages) and where. */
export interface CounterSeen { value: bigint; where: string }

/**
 * mikey.counter, mikey.retransmission (RFC 3830 §5.3 replay protection; TS 33.246 §6.3.2; profile O18).
 * The counter of every message under one key is strictly greater than every earlier one and at least 1
 * (a receiver's replay window starts at 0, so 0 is never fresh). A retransmission is a fresh message when
 * the profile refreshes retransmissions (freshTs), else the original octets again, whose counter is
 * then not judged.
 */
export function judgeCounter(
  counter: bigint, previous: CounterSeen | undefined,
  ctx: { key: 'muk' | 'msk'; freshTs: boolean; retransmissionOf?: { bytes: Buffer; where: string }; bytes: Buffer },
): CheckOutcome[] {
  const out: CheckOutcome[] = [];
  if (ctx.retransmissionOf && !ctx.freshTs) {
    const same = ctx.bytes.equals(ctx.retransmissionOf.bytes);
    out.push(same ? { check: 'mikey.retransmission', ok: true, message: `the retransmission repeats ${ctx.retransmissionOf.where} byte for byte (O18 freshTs: false)` }
      : { check: 'mikey.retransmission', ok: false, message: 'retransmissions repeat the original octets (profile O18 freshTs: false)', expected: ctx.retransmissionOf.bytes.toString('hex'), actual: ctx.bytes.toString('hex') });
    return out;
  }
  const under = ctx.key === 'muk' ? 'this MUK' : 'this MSK';
  if (previous) {
    const ok = counter > previous.value;
    out.push(ok ? { check: 'mikey.counter', ok, message: `COUNTER ${counter} > ${previous.value} (${previous.where})` }
      : { check: 'mikey.counter', ok, message: `COUNTER strictly greater than every earlier one for ${under}${ctx.retransmissionOf ? ', retransmissions included (O18 freshTs)' : ''} (RFC 3830 §5.3)`, expected: `> ${previous.value} (${previous.where})`, actual: counter.toString() });
  } else if (counter === 0n) {
    out.push({ check: 'mikey.counter', ok: false, message: 'COUNTER starts at 1 or more: 0 never passes a receiver\'s replay check (RFC 3830 §5.3)', expected: '>= 1', actual: '0' });
  } else {
    out.push({ check: 'mikey.counter', ok: true, message: `COUNTER ${counter}, the first seen for ${under}` });
  }
  return out;
}

/** mikey.csb-id: `csbId` equals the CSB ID of `earlier`; `kept` words the pass, `rule` the fail. */
function csbIdKept(csbId: number, earlier: { csbId: number; where: string }, kept: (csbIdHex: string) => string, rule: string): CheckOutcome[] {
  const hex8 = (n: number) => n.toString(16).padStart(8, '0');
  return csbId === earlier.csbId
    ? [{ check: 'mikey.csb-id', ok: true, message: kept(hex8(csbId)) }]
    : [{ check: 'mikey.csb-id', ok: false, message: rule, expected: `${hex8(earlier.csbId)} (${earlier.where})`, actual: hex8(csbId) }];
}

/**
 * mikey.csb-id (RFC 3830 §6.1; profile O10): a retransmission keeps the CSB ID of its delivery when the
 * profile says CSB IDs are drawn per delivery or fixed per MUK; drawn per message, any CSB ID is right.
 */
export function judgeCopyCsbId(csbId: number, original: { csbId: number; where: string }, policy: string): CheckOutcome[] {
  if (policy !== 'random-per-delivery' && policy !== 'fixed-per-muk') return [];
  return csbIdKept(csbId, original, (csb) => `the retransmission keeps the CSB ID ${csb} of ${original.where} (O10 ${policy})`,
    `a retransmission keeps the CSB ID of its delivery (O10 ${policy}): the UE's ACK names it`);
}

/**
 * mikey.csb-id (RFC 3830 §6.1; profile O10): where the profile fixes the CSB ID for a message kind (MTK
 * messages: one per MSK, 'fixed-per-msk'; MSK messages and triggers: one per MUK, 'fixed-per-muk'), a
 * message carries the CSB ID of the earlier one it is compared with. Undefined where the profile lets the
 * CSB ID change: nothing to judge.
 */
export function judgeSameCsbId(csbId: number, other: { csbId: number; where: string }, kind: 'msk' | 'mtk' | 'trigger', policy: string): CheckOutcome[] | undefined {
  const fixed = kind === 'mtk' ? policy === 'fixed-per-msk' : policy === 'fixed-per-muk';
  if (!fixed) return undefined;
  const scope = kind === 'mtk' ? 'MTK messages under one MSK' : 'MIKEY messages to one MUK';
  return csbIdKept(csbId, other, (csb) => `the CSB ID ${csb} of ${other.where} (O10 ${policy})`, `${scope} keep one CSB ID (O10 ${policy})`);
}

/**
 * mikey.rand-per-msk (TS 33.246 §6.3.3; profile O15): every delivery of one MSK carries the same RAND,
 * since the keys of the MTK messages under it derive from the MSK and that RAND.
 */
export function judgeRandPerMsk(rand: Buffer, earlier: { rand: Buffer; where: string } | undefined, msk: string): CheckOutcome[] {
  if (!earlier) return [];
  return earlier.rand.equals(rand)
    ? [{ check: 'mikey.rand-per-msk', ok: true, message: `same RAND as the earlier delivery of MSK ${msk} (${earlier.where})` }]
    : [{ check: 'mikey.rand-per-msk', ok: false, message: `every delivery of one MSK carries the same RAND: MTK-message keys derive from (MSK, RAND) (TS 33.246 §6.3.3, O15); MSK ${msk} was delivered earlier (${earlier.where})`, expected: earlier.rand.toString('hex'), actual: rand.toString('hex') }];
}

/**
 * mikey.mtk-id (TS 33.246 §6.3.3; RFC 4563 §4; profile O21). An MTK ID never goes down under one MSK (a UE
 * discards an MTK whose ID is not above its current one). When a new MTK is due (an MTK update) the ID is
 * higher than the last; otherwise an equal ID is the same MTK sent again (MTK messages are repeated on the
 * bearer for late joiners), which is allowed.
 */
export function judgeMtkId(
  value: bigint, previous: { value: bigint; where: string; key?: Buffer } | undefined, ctx: { newMtk: boolean; key?: Buffer },
): CheckOutcome[] {
  if (!previous) {
    return ctx.newMtk ? [{ check: 'mikey.mtk-id', ok: false, message: 'an earlier MTK message of this MSK to compare the new MTK ID with', expected: 'an earlier MTK message', actual: 'none' }] : [];
  }
  if (value > previous.value) return [{ check: 'mikey.mtk-id', ok: true, message: `MTK ID ${value} > ${previous.value} (${previous.where})` }];
  // An equal ID is a repeat only when it carries the same MTK (when both keys could be decrypted).
  const newKey = ctx.key !== undefined && previous.key !== undefined && !ctx.key.equals(previous.key);
  if (value === previous.value && !ctx.newMtk && !newKey) return [{ check: 'mikey.mtk-id', ok: true, message: `MTK ID ${value} repeated: the same MTK sent again (${previous.where})` }];
  const fresh = ctx.newMtk || newKey;
  return [{
    check: 'mikey.mtk-id', ok: false,
    message: fresh ? `a new MTK has a higher MTK ID than the last under its MSK${newKey ? ' (this message carries another MTK under the same ID)' : ''} (TS 33.246 §6.3.3, O21)` : 'the MTK ID never goes down under one MSK (TS 33.246 §6.3.3, O21)',
    expected: `${fresh ? '>' : '>='} ${previous.value} (${previous.where})`, actual: value.toString(),
  }];
}

/**
 * How long after the tester's or the UE's ACK one copy of the acknowledged message is still taken as
 * crossing it (retransmission.after-ack, silence windows of `mikey: retransmission`): a copy whose timer
 * was due when the ACK arrived, sent before the BM-SC had processed the ACK. One retransmission interval
 * plus T_ack bounds that; one copy only (RFC 3830 §5.2: the ACK ends the exchange; profile O18).
 */
export function ackCrossingMs(profile: Pick<MbmsProfile, 'retransmission' | 'timers'>): number {
  return profile.retransmission.intervalMs + profile.timers.ackMs;
}

/**
 * Whether a key message is valid for the UE it is addressed to, as the UE must judge it before acting on
 * it (ACK, pull): every message check passed (structure, encryption algorithm, MAC, key data), and its
 * counter is fresh. Rules that judge the UE's reaction (ack.iff-v, pull.request) apply only to messages
 * valid for it; an invalid message is the BM-SC's fault and the UE rightly discards it (TS 33.246 §6.3.2,
 * RFC 3830 §5.3).
 */
export function validForUe(verdict: Pick<KeyMessageVerdict, 'checks' | 'macValid'>, fresh: boolean): boolean | undefined {
  if (verdict.macValid === undefined) return undefined;
  return fresh && verdict.macValid && verdict.checks.every((c) => c.ok);
}

/**
 * msk-response.no-key (TS 33.246 §6.3.1, §6.3.2): the HTTP answer never carries key material; an MSK
 * travels only inside a MIKEY message, encrypted under the MUK. Looks for the MSK's octets in the body
 * as hex (either case) or base64.
 */
export function judgeNoKeyInBody(body: Buffer, msk: Buffer, name: string): CheckOutcome {
  const text = body.toString('latin1');
  const forms = [msk.toString('hex'), msk.toString('hex').toUpperCase(), msk.toString('base64')];
  const leaked = body.includes(msk) || forms.some((f) => text.includes(f));
  return leaked
    ? { check: 'msk-response.no-key', ok: false, message: `the 200 OK carries MSK ${name} in clear: an MSK travels only inside the MIKEY message, encrypted under the MUK (TS 33.246 §6.3.1, §6.3.2)`, expected: 'no key material in the body', actual: `the body holds MSK ${name}` }
    : { check: 'msk-response.no-key', ok: true, message: `the 200 OK body does not hold MSK ${name}` };
}
