// Keys and counters of the reference BM-SC, persisted in the state file so a restart continues where it
// stopped: MSKs per (Key Domain ID, Key Group) with their Key Numbers, the RAND and MTK CSB ID that belong
// to each MSK, the MTK ID sequence, and the COUNTER per MUK and per MSK (protocol §6.1, §6.2, §5.3).

import { randomBytes } from 'node:crypto';
import { mskId as makeMskId } from '../../mbms/index.ts';
import { CounterBook, JsonStateStore, ReferenceStateError, ReservationJournal } from '../common/index.ts';

/** One MSK. Its RAND and MTK CSB ID are fixed for its whole life (protocol §5.3 consequence). */
export interface Msk {
  keyDomainId: Buffer;
  keyGroup: number;
  keyNumber: number;
  /** MSK ID = Key Group ‖ Key Number (protocol §6.2). */
  id: number;
  key: Buffer;
  /** RAND carried in every MSK message of this MSK and used for its MTK messages (O15 'msk-rand'). */
  rand: Buffer;
  /** CSB ID of this MSK's MTK messages (O10 'fixed-per-msk'). */
  mtkCsbId: number;
  /** Last MTK ID issued under this MSK (0 = none yet). */
  mtkId: number;
  /** Current MTK, when one was issued. */
  mtk?: Buffer;
}

interface StoredMsk {
  keyNumber: number;
  key: string;
  rand: string;
  mtkCsbId: number;
  mtkId: number;
  mtk?: string;
}

interface StoredGroup {
  keyDomainId: string;
  keyGroup: number;
  /** Highest Key Number ever issued in the group (key numbers never go back, even after deletion). */
  lastKeyNumber: number;
  msks: StoredMsk[];
}

interface StoredState {
  format: 'mbms-conform/reference-bmsc-state';
  version: 1;
  /** Per-counter ceilings of state files written before the counter journal (read as a floor, no longer written). */
  counters?: Record<string, number>;
  groups: StoredGroup[];
}

export interface BmscStateOptions {
  stateFile?: string;
  /** MSKs kept per key group (TS 31.102 EF_MSK: 2; protocol §6.2). */
  maxMsksPerGroup: number;
  /** MTK key length in octets. */
  mtkLength?: number;
  /** MSK key length in octets (MIKEY TGK, 128 bits). */
  mskLength?: number;
  /** RAND length of new MSKs (RFC 3830 §6.11: at least 16). */
  randLength?: number;
  counterReserveBlock?: number;
}

/** Counter name of the MSK-message counter of one MUK (protocol §6.1). */
export function mukCounterName(btid: string): string {
  return `muk:${btid}`;
}

/** Counter name of the MTK-message counter of one MSK (protocol §6.1). */
export function mskCounterName(keyDomainId: Buffer, mskId: number): string {
  return `msk:${keyDomainId.toString('hex')}/${mskId.toString(16).padStart(8, '0')}`;
}

export class BmscState {
  readonly #store: JsonStateStore<StoredState>;
  readonly #options: Required<Omit<BmscStateOptions, 'stateFile'>>;
  readonly #groups = new Map<string, { keyDomainId: Buffer; keyGroup: number; lastKeyNumber: number; msks: Msk[] }>();
  readonly counters: CounterBook;

  constructor(options: BmscStateOptions) {
    this.#store = new JsonStateStore<StoredState>(options.stateFile);
    this.#options = {
      maxMsksPerGroup: Math.max(1, options.maxMsksPerGroup),
      mtkLength: options.mtkLength ?? 16,
      mskLength: options.mskLength ?? 16,
      randLength: options.randLength ?? 16,
      counterReserveBlock: options.counterReserveBlock ?? 1000,
    };
    const stored = this.#store.load();
    if (stored !== undefined) this.#restore(stored, options.stateFile ?? '<memory>');
    // Counters are reserved in a journal beside the state file (lib/reference/common/counter-journal.ts);
    // a state file written before the journal existed holds per-counter ceilings: every value starts above them.
    this.counters = new CounterBook({
      reserveBlock: this.#options.counterReserveBlock,
      journal: new ReservationJournal(options.stateFile ? `${options.stateFile}.counters` : undefined),
      floor: Math.max(0, ...Object.values(stored?.counters ?? {}).filter((v): v is number => Number.isInteger(v))),
    });
  }

  #restore(stored: StoredState, path: string): void {
    if (stored.format !== 'mbms-conform/reference-bmsc-state' || stored.version !== 1 || !Array.isArray(stored.groups)) {
      throw new ReferenceStateError(path, 'not a reference BM-SC state file (format/version)');
    }
    for (const g of stored.groups) {
      const keyDomainId = Buffer.from(g.keyDomainId, 'hex');
      this.#groups.set(groupKey(keyDomainId, g.keyGroup), {
        keyDomainId,
        keyGroup: g.keyGroup,
        lastKeyNumber: g.lastKeyNumber,
        msks: g.msks.map((m) => ({
          keyDomainId, keyGroup: g.keyGroup, keyNumber: m.keyNumber, id: makeMskId(g.keyGroup, m.keyNumber),
          key: Buffer.from(m.key, 'hex'), rand: Buffer.from(m.rand, 'hex'), mtkCsbId: m.mtkCsbId, mtkId: m.mtkId,
          ...(m.mtk ? { mtk: Buffer.from(m.mtk, 'hex') } : {}),
        })),
      });
    }
  }

  #save(): void {
    // After every key change (counters are in their journal)
    this.#store.save({
      format: 'mbms-conform/reference-bmsc-state',
      version: 1,
      groups: [...this.#groups.values()].map((g) => ({
        keyDomainId: g.keyDomainId.toString('hex'),
        keyGroup: g.keyGroup,
        lastKeyNumber: g.lastKeyNumber,
        msks: g.msks.map((m) => ({
          keyNumber: m.keyNumber, key: m.key.toString('hex'), rand: m.rand.toString('hex'), mtkCsbId: m.mtkCsbId,
          mtkId: m.mtkId, ...(m.mtk ? { mtk: m.mtk.toString('hex') } : {}),
        })),
      })),
    });
  }

  /** Makes sure every service (key domain, key group) has a current MSK. */
  ensureGroups(services: readonly { keyDomainId: Buffer; keyGroup: number }[]): void {
    let changed = false;
    for (const s of services) {
      const key = groupKey(s.keyDomainId, s.keyGroup);
      if (this.#groups.get(key)?.msks.length) continue;
      const group = this.#groups.get(key) ?? { keyDomainId: s.keyDomainId, keyGroup: s.keyGroup, lastKeyNumber: 0, msks: [] };
      this.#groups.set(key, group);
      group.msks.push(this.#newMsk(group));
      changed = true;
    }
    if (changed) this.#save();
  }

  #newMsk(group: { keyDomainId: Buffer; keyGroup: number; lastKeyNumber: number }): Msk {
    // Key Number 0 is reserved ("no key" / trigger, protocol §6.2); numbers strictly increase (O21).
    const keyNumber = group.lastKeyNumber + 1;
    if (keyNumber > 0xffff) throw new RangeError(`key group ${group.keyGroup}: Key Numbers exhausted (no wrap, O21)`);
    group.lastKeyNumber = keyNumber;
    return {
      keyDomainId: group.keyDomainId, keyGroup: group.keyGroup, keyNumber, id: makeMskId(group.keyGroup, keyNumber),
      key: randomBytes(this.#options.mskLength), rand: randomBytes(this.#options.randLength),
      mtkCsbId: randomBytes(4).readUInt32BE(0), mtkId: 0,
    };
  }

  /** Every key group, in insertion order. */
  groups(): { keyDomainId: Buffer; keyGroup: number; msks: readonly Msk[] }[] {
    return [...this.#groups.values()];
  }

  /** The current (newest) MSK of a key group. */
  current(keyDomainId: Buffer, keyGroup: number): Msk | undefined {
    return this.#groups.get(groupKey(keyDomainId, keyGroup))?.msks.at(-1);
  }

  /** An MSK the BM-SC still holds. */
  find(keyDomainId: Buffer, mskId: number): Msk | undefined {
    const group = this.#groups.get(groupKey(keyDomainId, Math.floor(mskId / 0x10000)));
    return group?.msks.find((m) => m.id === mskId);
  }

  /** Makes a new MSK current in the group (next Key Number), dropping the oldest beyond the slot count. */
  rotate(keyDomainId: Buffer, keyGroup: number): { msk: Msk; previous?: Msk } {
    const group = this.#groups.get(groupKey(keyDomainId, keyGroup));
    if (!group) throw new RangeError(`unknown key group ${keyDomainId.toString('hex')}/${keyGroup}`);
    const previous = group.msks.at(-1);
    const msk = this.#newMsk(group);
    group.msks.push(msk);
    while (group.msks.length > this.#options.maxMsksPerGroup) group.msks.shift();
    this.#save();
    return { msk, ...(previous ? { previous } : {}) };
  }

  /** Issues the next MTK under `msk` (MTK ID strictly increasing, O21) and persists it. */
  nextMtk(msk: Msk, options: { repeatId?: boolean } = {}): { mtkId: number; mtk: Buffer } {
    const mtkId = options.repeatId && msk.mtkId > 0 ? msk.mtkId : msk.mtkId + 1;
    msk.mtkId = mtkId;
    msk.mtk = randomBytes(this.#options.mtkLength);
    this.#save();
    return { mtkId, mtk: msk.mtk };
  }
}

function groupKey(keyDomainId: Buffer, keyGroup: number): string {
  return `${keyDomainId.toString('hex')}/${keyGroup}`;
}
