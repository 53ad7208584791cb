// Key store of the reference UE: MSKs per (Key Domain ID, Key Group) with at most `maxPerGroup` slots
// (TS 31.102 EF_MSK: two, "current" and "next"; protocol §6.2, §9 O21), the MTK last accepted under each
// MSK, and the replay counters of protocol §6.1: one per MUK (MSK messages, triggers) and one per MSK
// (MTK messages). Counters are only advanced by the caller after a successful MAC check.
import { keyGroupKey, mskKey, parseMskId } from '../../mbms/index.ts';

export interface HeldMtk {
  mtkId: number;
  key: Buffer;
  salt?: Buffer;
  installedAt: number;
}

export interface HeldMsk {
  keyDomainId: Buffer;
  mskId: number;
  key: Buffer;
  /** RAND of the MSK message that delivered it: input of the MTK-message key derivation (protocol §5.3, O15). */
  rand: Buffer;
  installedAt: number;
  mtk?: HeldMtk;
}

export type MskInstallOutcome =
  | { installed: true; replaced: boolean; evicted?: HeldMsk }
  | { installed: false; reason: 'stale-key-number' };

export type MtkInstallOutcome = { installed: true } | { installed: false; reason: 'mtk-id-not-newer' };

export interface UeCounters {
  /** Last accepted COUNTER of MSK messages and triggers, per B-TID (= per MUK). */
  muk: Record<string, number>;
  /** Last accepted COUNTER of MTK messages, per `<keyDomainId hex>/<MSK ID hex>`. */
  msk: Record<string, number>;
}

export class UeKeyStore {
  readonly maxPerGroup: number;
  readonly strictIncrease: boolean;
  #msks = new Map<string, HeldMsk>();
  #counters: UeCounters = { muk: {}, msk: {} };

  constructor(options: { maxPerGroup: number; strictIncrease: boolean; counters?: UeCounters }) {
    this.maxPerGroup = options.maxPerGroup;
    this.strictIncrease = options.strictIncrease;
    if (options.counters) this.#counters = structuredClone(options.counters);
  }

  getMsk(keyDomainId: Buffer, mskId: number): HeldMsk | undefined {
    return this.#msks.get(mskKey(keyDomainId, mskId));
  }

  /** All held MSKs, ordered by domain, key group, key number. */
  msks(): HeldMsk[] {
    return [...this.#msks.values()].sort((a, b) => mskKey(a.keyDomainId, a.mskId).localeCompare(mskKey(b.keyDomainId, b.mskId)));
  }

  /**
   * Installs an MSK (protocol §6.2): the same MSK ID replaces its slot; a new one takes a free slot of its
   * key group or, when the group is full, evicts the MSK with the lowest Key Number. With strict increase
   * (O21), an MSK whose Key Number is below every held one of a full group is stale and refused.
   */
  installMsk(keyDomainId: Buffer, mskId: number, key: Buffer, rand: Buffer, now: number): MskInstallOutcome {
    const id = mskKey(keyDomainId, mskId);
    const existing = this.#msks.get(id);
    if (existing) {
      this.#msks.set(id, { ...existing, key, rand, installedAt: now, ...(existing.key.equals(key) ? {} : { mtk: undefined }) });
      return { installed: true, replaced: true };
    }
    const group = keyGroupKey(keyDomainId, mskId);
    const sameGroup = [...this.#msks.values()].filter((m) => keyGroupKey(m.keyDomainId, m.mskId) === group);
    let evicted: HeldMsk | undefined;
    if (sameGroup.length >= this.maxPerGroup) {
      const number = parseMskId(mskId).number;
      const order = this.strictIncrease
        ? sameGroup.sort((a, b) => parseMskId(a.mskId).number - parseMskId(b.mskId).number)
        : sameGroup.sort((a, b) => a.installedAt - b.installedAt);
      if (this.strictIncrease && order.every((m) => parseMskId(m.mskId).number > number)) {
        return { installed: false, reason: 'stale-key-number' };
      }
      evicted = order[0]!;
      this.#msks.delete(mskKey(evicted.keyDomainId, evicted.mskId));
    }
    this.#msks.set(id, { keyDomainId: Buffer.from(keyDomainId), mskId, key, rand, installedAt: now });
    return evicted ? { installed: true, replaced: false, evicted } : { installed: true, replaced: false };
  }

  /** Installs an MTK under a held MSK; with strict increase the MTK ID must exceed the last one (O21). */
  installMtk(msk: HeldMsk, mtkId: number, key: Buffer, salt: Buffer | undefined, now: number): MtkInstallOutcome {
    if (this.strictIncrease && msk.mtk && mtkId <= msk.mtk.mtkId) return { installed: false, reason: 'mtk-id-not-newer' };
    msk.mtk = { mtkId, key, installedAt: now, ...(salt ? { salt } : {}) };
    return { installed: true };
  }

  /** Forgets held MSKs: all, those of one domain, or one MSK. Returns what was removed. */
  deleteMsks(keyDomainId?: Buffer, mskId?: number): HeldMsk[] {
    const removed: HeldMsk[] = [];
    for (const [id, msk] of this.#msks) {
      if (keyDomainId && !msk.keyDomainId.equals(keyDomainId)) continue;
      if (mskId !== undefined && msk.mskId !== mskId) continue;
      this.#msks.delete(id);
      removed.push(msk);
    }
    return removed;
  }

  mukCounter(btid: string): number {
    return this.#counters.muk[btid] ?? 0;
  }

  setMukCounter(btid: string, value: number): void {
    this.#counters.muk[btid] = value;
  }

  mskCounter(keyDomainId: Buffer, mskId: number): number {
    return this.#counters.msk[mskKey(keyDomainId, mskId)] ?? 0;
  }

  setMskCounter(keyDomainId: Buffer, mskId: number, value: number): void {
    this.#counters.msk[mskKey(keyDomainId, mskId)] = value;
  }

  counters(): UeCounters {
    return structuredClone(this.#counters);
  }

  /** Forgets every key and counter (POST /bootstrap with a new B-TID keeps the others' counters). */
  clear(): void {
    this.#msks.clear();
    this.#counters = { muk: {}, msk: {} };
  }
}
