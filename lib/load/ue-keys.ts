// What a simulated UE of a load run keeps and checks of the MSK messages it receives, in the request
// scenarios (procedure.ts) and the push (push-slice.ts) alike: the message judged with the verifiers of the
// conformance runs and analyze, its COUNTER against the UE's replay state (RFC 3830 §5.3), its ACK built when
// it is a V=1 message whose MAC verifies (§5.2), and the copies of the delivery it acknowledged counted by
// the crossing rule of the live suites and analyze (verify/history.ts ackCrossingMs).
import type { MbmsProfile } from '../mbms/index.ts';
import { buildVerificationMessage } from '../mikey/index.ts';
import { ackCrossingMs, judgeCounter, judgeMtkId, judgeSameCsbId } from '../suite/verify/history.ts';
import { judgeSubscribedMsk, judgeTriggerKeyIds, verifyKeyMessage, type CheckOutcome, type KeyGroupRef, type KeyMessageVerdict } from '../suite/verify/mikey.ts';

/**
 * How long after its ACK a UE watches for the copy that shows the ACK was not taken: one copy may cross the
 * ACK within the crossing window, the next comes one retransmission interval later.
 */
export const copyWatchMs = (profile: Pick<MbmsProfile, 'retransmission' | 'timers'>): number => ackCrossingMs(profile) + profile.retransmission.intervalMs;

export interface JudgedKeyMessage {
  /** The failed checks (none: the message is valid for the UE). */
  failures: CheckOutcome[];
  macValid: boolean;
  csbId: number;
  mskId: string;
  /** The verification message, for a V=1 message whose MAC verifies. */
  ack?: Buffer;
}

/** The MSK a UE holds (from an MSK message whose MAC verified): what its MTK messages are judged under. */
export interface HeldMsk { mskId: string; key: Buffer; rand: Buffer }

/**
 * The verdicts of MTK messages by their octets and MSK. An MTK message goes to every UE of the key group with
 * the same octets (point-to-multipoint, TS 33.246 §6.3.3), so its message-level verdict (structure, MAC
 * under the MSK, key data) is the same for every UE holding that MSK: computed once per slice and message.
 * What differs per UE (its COUNTER and MTK ID history) is judged per UE. A few entries: updates come one
 * after the other.
 */
export class MtkVerdictCache {
  readonly #entries = new Map<string, KeyMessageVerdict>();
  constructor(readonly profile: MbmsProfile, readonly size = 8) {}

  verdict(bytes: Buffer, msk: HeldMsk): KeyMessageVerdict {
    const key = `${msk.key.toString('hex')}|${bytes.toString('hex')}`;
    let v = this.#entries.get(key);
    if (!v) {
      const mikey = this.profile.mikey;
      v = verifyKeyMessage(bytes, { kind: 'mtk', psk: msk.key, derivationRand: mikey.mtkRandSource === 'msk-rand' ? msk.rand : Buffer.alloc(0), profile: mikey, v: false });
      this.#entries.set(key, v);
      if (this.#entries.size > this.size) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return v;
  }
}

export interface JudgedMtkMessage {
  failures: CheckOutcome[];
  /** The MTK ID (hex) of a message whose MAC verified; undefined otherwise. */
  mtkId?: string;
  /** A new MTK for this UE (its MTK ID above the last it took); false for the same MTK again. */
  fresh: boolean;
}

export class UeKeyState {
  /** The last COUNTER accepted for the MUK, and the message that carried it. */
  #lastCounter?: bigint;
  #lastBytes?: Buffer;
  /** The delivery acknowledged last: copies of it past the crossing copy are ACKs the BM-SC did not take. */
  readonly acks: AckWatch;
  /** The MSK this UE holds, and the last MTK message it took under it (RFC 3830 §5.3 replay state per MSK). */
  #msk?: HeldMsk;
  #mtk?: { counter: bigint; mtkId: bigint; key?: Buffer; csbId: number; bytes: Buffer };

  /** `group`: the key group the message must name (its EXT key IDs), when the scenario knows it. */
  constructor(readonly ksNaf: Buffer, readonly profile: MbmsProfile, readonly group?: KeyGroupRef) {
    this.acks = new AckWatch(profile);
  }

  /**
   * Judges an MSK message (or, `kind` 'trigger', a solicited-pull trigger) as this UE: structure, MAC under its MUK, decryption, the key group, the COUNTER
   * above the last one for the MUK (a retransmission repeating the message byte for byte where the profile
   * says so, O18 freshTs: false). Only a message whose MAC verifies moves the replay state.
   */
  judge(bytes: Buffer, kind: 'msk' | 'trigger' = 'msk'): JudgedKeyMessage {
    const verdict = verifyKeyMessage(bytes, { kind, psk: this.ksNaf, profile: this.profile.mikey });
    const failures = verdict.checks.filter((c) => !c.ok);
    if (verdict.message && kind === 'trigger') {
      // A solicited-pull trigger (§6.3.2.1): its key IDs 0x0 (O20); it shares the MUK's replay state
      const keyIds = judgeTriggerKeyIds(verdict.keyIds, this.profile.mikey);
      if (!keyIds.ok) failures.push(keyIds);
    } else if (this.group && verdict.message) {
      const keyIds = judgeSubscribedMsk(verdict.keyIds, [this.group]);
      if (!keyIds.ok) failures.push(keyIds);
    }
    if (verdict.counter !== undefined) {
      const previous = this.#lastCounter;
      const freshTs = this.profile.retransmission.freshTs;
      const repeat = !freshTs && this.#lastBytes?.equals(bytes) ? { bytes: this.#lastBytes, where: 'the message it repeats' } : undefined;
      for (const c of judgeCounter(verdict.counter, previous === undefined ? undefined : { value: previous, where: 'the last message to this MUK' }, { key: 'muk', freshTs, bytes, ...(repeat ? { retransmissionOf: repeat } : {}) })) {
        if (!c.ok) failures.push(c);
      }
      if (verdict.macValid && (previous === undefined || verdict.counter > previous)) {
        this.#lastCounter = verdict.counter;
        this.#lastBytes = Buffer.from(bytes);
      }
    }
    const msk = verdict.keyData[0]?.key;
    if (failures.length === 0 && msk && verdict.rand && verdict.keyIds.mskId) {
      const mskId = verdict.keyIds.mskId.toString('hex');
      if (this.#msk?.mskId !== mskId) this.#mtk = undefined;
      this.#msk = { mskId, key: msk, rand: verdict.rand };
    }
    const out = { failures, macValid: verdict.macValid, csbId: verdict.csbId ?? -1, mskId: verdict.keyIds.mskId?.toString('hex') ?? '' };
    return verdict.v && verdict.macValid ? { ...out, ack: buildVerificationMessage({ received: bytes, psk: this.ksNaf, profile: this.profile.mikey }).bytes } : out;
  }

  /** The MSK this UE holds (the last valid MSK message's), if any. */
  get msk(): HeldMsk | undefined {
    return this.#msk;
  }

  /**
   * Judges an MTK message as this UE (TS 33.246 §6.3.3): under the MSK it holds, the message-level verdict
   * from `cache` (V flag clear: no verification message, MAC under the MSK-derived key, one MTK); then, per
   * UE, the COUNTER above the last MTK message's under the MSK (RFC 3830 §5.3; the same octets again are the
   * same message repeated, not judged again), the MTK ID never down and a new MTK never under an old ID
   * (O21), the CSB ID kept where the profile fixes it per MSK (O10).
   */
  judgeMtk(bytes: Buffer, cache: MtkVerdictCache): JudgedMtkMessage {
    const msk = this.#msk;
    if (!msk) return { failures: [{ check: 'mikey.key-ids', ok: false, message: 'an MTK message comes under an MSK the UE holds (it got none of the key group)', expected: 'an MSK delivered first', actual: 'none' }], fresh: false };
    const verdict = cache.verdict(bytes, msk);
    const failures = verdict.checks.filter((c) => !c.ok);
    const mskId = verdict.keyIds.mskId?.toString('hex');
    if (verdict.message && mskId !== msk.mskId) {
      failures.push({ check: 'mikey.key-ids', ok: false, message: 'the MTK message names the MSK of the key group the UE holds (RFC 4563 §4; TS 33.246 §6.3.3)', expected: msk.mskId, actual: mskId ?? 'none' });
      return { failures, fresh: false };
    }
    if (!verdict.macValid || verdict.counter === undefined || !verdict.keyIds.mtkId) return { failures, fresh: false };
    const mtkIdHex = verdict.keyIds.mtkId.toString('hex');
    const last = this.#mtk;
    if (last?.bytes.equals(bytes)) return { failures, mtkId: mtkIdHex, fresh: false };
    const where = 'the last MTK message under this MSK';
    failures.push(...judgeCounter(verdict.counter, last ? { value: last.counter, where } : undefined, { key: 'msk', freshTs: true, bytes }).filter((c) => !c.ok));
    const mtkId = BigInt(`0x${mtkIdHex}`);
    const key = verdict.keyData[0]?.key;
    failures.push(...judgeMtkId(mtkId, last ? { value: last.mtkId, where, ...(last.key ? { key: last.key } : {}) } : undefined, { newMtk: false, ...(key ? { key } : {}) }).filter((c) => !c.ok));
    if (last && verdict.csbId !== undefined) failures.push(...(judgeSameCsbId(verdict.csbId, { csbId: last.csbId, where }, 'mtk', this.profile.mikey.csbId.mtk) ?? []).filter((c) => !c.ok));
    const fresh = failures.length === 0 && (!last || mtkId > last.mtkId);
    if (fresh) this.#mtk = { counter: verdict.counter, mtkId, ...(key ? { key } : {}), csbId: verdict.csbId ?? 0, bytes: Buffer.from(bytes) };
    return { failures, mtkId: mtkIdHex, fresh };
  }
}

/**
 * The delivery a UE acknowledged last, and the copies of it that came after the ACK (RFC 3830 §5.2; the
 * crossing rule of the live suites and analyze, verify/history.ts ackCrossingMs).
 */
export class AckWatch {
  #acked?: { csbId: number; mskId: string; at: number; crossed: boolean; lost: boolean };

  constructor(readonly profile: Pick<MbmsProfile, 'retransmission' | 'timers'>) {}

  get acked(): { csbId: number; mskId: string; at: number } | undefined {
    return this.#acked;
  }

  /** `m` acknowledged at `at` (a copy of the delivery acknowledged already keeps the first ACK's time). */
  acknowledged(m: { csbId: number; mskId: string }, at: number): void {
    if (this.#acked?.csbId === m.csbId && this.#acked.mskId === m.mskId) return;
    this.#acked = { csbId: m.csbId, mskId: m.mskId, at, crossed: false, lost: false };
  }

  /**
   * A copy of the acknowledged delivery came at `at` (ms, the clock of the ACK's time). One copy sent before
   * the BM-SC had processed the ACK crosses it; any other means an ACK the BM-SC did not take, counted once
   * per delivery: the retransmission.after-ack finding the first time, undefined otherwise.
   */
  lostAck(at: number): CheckOutcome | undefined {
    const acked = this.#acked!;
    const crossing = ackCrossingMs(this.profile);
    if (!acked.crossed && at - acked.at <= crossing) {
      acked.crossed = true;
      return undefined;
    }
    if (acked.lost) return undefined;
    acked.lost = true;
    return {
      check: 'retransmission.after-ack', ok: false,
      message: `a copy of the delivery came ${Math.round(at - acked.at)} ms after the UE's valid ACK: the BM-SC did not take the ACK (RFC 3830 §5.2; one copy within ${crossing} ms crosses it, O18)`,
      expected: `no copy after the ACK but one within ${crossing} ms`, actual: { csbId: acked.csbId.toString(16).padStart(8, '0'), msAfterAck: Math.round(at - acked.at) },
    };
  }
}
