// Persistent state of a reference (counters, keys), kept in one JSON file.
//
// Replay protection in MBMS rests on 32-bit COUNTER timestamps that only ever increase: one per MUK for
// MSK messages, one per MSK for MTK messages (protocol §6.1). A UE stores the last counter it accepted, so
// a BM-SC that restarts and reuses a counter gets its messages dropped as replays. The store therefore
// writes atomically (temporary file, fsync, rename, fsync of the directory), so after a crash the file
// holds either the old or the new state, never a torn one; and counters are reserved on disk before a
// value is handed out (CounterBook), so a restarted reference never issues a value it may have sent.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ReferenceStateError } from './errors.ts';

let tempSequence = 0;

/** A JSON document on disk, or in memory only when no path is given. */
export class JsonStateStore<T> {
  readonly path?: string;
  #memory?: T;

  constructor(path?: string) {
    this.path = path;
  }

  /** The stored document, or undefined when the file does not exist yet. */
  load(): T | undefined {
    if (!this.path) return this.#memory === undefined ? undefined : structuredClone(this.#memory);
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ReferenceStateError(this.path, `cannot read state: ${(error as Error).message}`, { cause: error });
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new ReferenceStateError(this.path, `state file is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Replaces the document. Synchronous on purpose: when it returns, the state is on disk. */
  save(state: T): void {
    if (!this.path) {
      this.#memory = structuredClone(state);
      return;
    }
    const dir = dirname(this.path);
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${++tempSequence}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      const fd = openSync(temp, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.path);
      syncDirectory(dir);
    } catch (error) {
      try { unlinkSync(temp); } catch { /* already renamed or never created */ }
      throw new ReferenceStateError(this.path, `cannot write state: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** fsync of the directory makes the rename itself durable (POSIX); not supported everywhere (Windows). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Directories cannot be opened or synced on some platforms; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What a CounterBook persists: for each counter, the highest value that may have been handed out. */
export type CounterCeilings = Record<string, number>;

export interface CounterBookOptions {
  /**
   * How many values to reserve per write. 1 writes the state before every message; a larger block writes
   * once per block, and a restart skips the unused rest of the block (counters stay strictly increasing).
   */
  reserveBlock?: number;
  /** Called with the new ceilings whenever a reservation moves; must persist them before returning. */
  persist: (ceilings: CounterCeilings) => void;
}

/** Largest COUNTER value (32 bits, RFC 3830 §6.6). */
export const MAX_COUNTER = 0xffff_ffff;

/**
 * Strictly increasing 32-bit counters, keyed by name (e.g. `muk:<B-TID>`, `msk:<domain>/<MSK ID>`),
 * that survive a restart: a value is returned only after its reservation is persisted.
 */
export class CounterBook {
  #issued = new Map<string, number>();
  #ceiling = new Map<string, number>();
  readonly #block: number;
  readonly #persist: (ceilings: CounterCeilings) => void;

  constructor(initial: CounterCeilings | undefined, options: CounterBookOptions) {
    this.#block = Math.max(1, Math.floor(options.reserveBlock ?? 1));
    this.#persist = options.persist;
    for (const [key, value] of Object.entries(initial ?? {})) {
      if (!Number.isInteger(value) || value < 0 || value > MAX_COUNTER) continue;
      // Anything up to the persisted ceiling may have been sent before the restart.
      this.#issued.set(key, value);
      this.#ceiling.set(key, value);
    }
  }

  /** The last value handed out for `key` (0 when none). */
  last(key: string): number {
    return this.#issued.get(key) ?? 0;
  }

  /** The next value for `key`, strictly greater than any value handed out before (also before a restart). */
  next(key: string): number {
    const value = this.last(key) + 1;
    if (value > MAX_COUNTER) {
      // Counter wrap is unsupported (protocol §6.1): the key must be renewed first.
      throw new RangeError(`counter ${key} exhausted (2^32 - 1 reached); renew the key`);
    }
    if (value > (this.#ceiling.get(key) ?? 0)) {
      const ceiling = Math.min(MAX_COUNTER, value + this.#block - 1);
      this.#ceiling.set(key, ceiling);
      this.#persist(this.ceilings());
    }
    this.#issued.set(key, value);
    return value;
  }

  /** The persisted form: the reserved ceiling of every counter. */
  ceilings(): CounterCeilings {
    return Object.fromEntries([...this.#ceiling.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Last issued value of every counter (for GET /state). */
  issued(): CounterCeilings {
    return Object.fromEntries([...this.#issued.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
