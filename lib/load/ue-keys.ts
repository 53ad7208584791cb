// What a simulated UE of a load run keeps and checks of the MSK messages it receives, in the request
// scenarios (procedure.ts) and the push (push-slice.ts) alike: the message judged with the verifiers of the
// conformance runs and analyze, its COUNTER against the UE's replay state (RFC 3830 §5.3), its ACK built when
// it is a V=1 message whose MAC verifies (§5.2), and the copies of the delivery it acknowledged counted by
// the crossing rule of the live suites and analyze (verify/history.ts ackCrossingMs).
import type { MbmsProfile } from '../mbms/index.ts';
import { buildVerificationMessage } from '../mikey/index.ts';
import { ackCrossingMs, judgeCounter } from '../suite/verify/history.ts';
import { judgeSubscribedMsk, verifyKeyMessage, type CheckOutcome, type KeyGroupRef } from '../suite/verify/mikey.ts';

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

export class UeKeyState {
  /** The last COUNTER accepted for the MUK, and the message that carried it. */
  #lastCounter?: bigint;
  #lastBytes?: Buffer;
  /** The delivery acknowledged last: copies of it past the crossing copy are ACKs the BM-SC did not take. */
  #acked?: { csbId: number; mskId: string; at: number; crossed: boolean; lost: boolean };

  /** `group`: the key group the message must name (its EXT key IDs), when the scenario knows it. */
  constructor(readonly ksNaf: Buffer, readonly profile: MbmsProfile, readonly group?: KeyGroupRef) {}

  /**
   * Judges an MSK message as this UE: structure, MAC under its MUK, decryption, the key group, the COUNTER
   * above the last one for the MUK (a retransmission repeating the message byte for byte where the profile
   * says so, O18 freshTs: false). Only a message whose MAC verifies moves the replay state.
   */
  judge(bytes: Buffer): JudgedKeyMessage {
    const verdict = verifyKeyMessage(bytes, { kind: 'msk', psk: this.ksNaf, profile: this.profile.mikey });
    const failures = verdict.checks.filter((c) => !c.ok);
    if (this.group && verdict.message) {
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
    const out = { failures, macValid: verdict.macValid, csbId: verdict.csbId ?? -1, mskId: verdict.keyIds.mskId?.toString('hex') ?? '' };
    return verdict.v && verdict.macValid ? { ...out, ack: buildVerificationMessage({ received: bytes, psk: this.ksNaf, profile: this.profile.mikey }).bytes } : out;
  }

  /** The delivery acknowledged last (its CSB ID and MSK ID, and when). */
  get acked(): { csbId: number; mskId: string; at: number } | undefined {
    return this.#acked;
  }

  /** This UE acknowledged `m` at `at` (a copy of the delivery it acknowledged already keeps the first ACK's time). */
  acknowledged(m: Pick<JudgedKeyMessage, 'csbId' | 'mskId'>, at: number): void {
    if (this.#acked?.csbId === m.csbId && this.#acked.mskId === m.mskId) return;
    this.#acked = { csbId: m.csbId, mskId: m.mskId, at, crossed: false, lost: false };
  }

  /**
   * A copy of the acknowledged delivery came at `at`. One copy sent before the BM-SC had processed the ACK
   * crosses it; any other means an ACK the BM-SC did not take, counted once per delivery: true the first time.
   */
  copyShowsLostAck(at: number): boolean {
    const acked = this.#acked!;
    if (!acked.crossed && at - acked.at <= ackCrossingMs(this.profile)) {
      acked.crossed = true;
      return false;
    }
    if (acked.lost) return false;
    acked.lost = true;
    return true;
  }
}
