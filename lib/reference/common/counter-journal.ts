// Counters that never go back, reserved on disk ahead of use and off the event loop.
//
// Replay protection in MBMS rests on 32-bit COUNTER timestamps that only ever increase: one per MUK for
// MSK messages and triggers, one per MSK for MTK messages (RFC 3830 §5.3, §6.6; TS 33.246 §6.3). A UE
// keeps the last counter it accepted, so a BM-SC that restarts and reuses a value gets its messages
// dropped as replays. A value may therefore be sent only once it is covered by a reservation on disk.
//
// One reservation covers every counter: the journal holds a ceiling C, and every value handed out, under
// any key, is at most C. After a restart each counter continues above the last C on disk, so it is above
// anything sent before whatever the key. That makes a reservation one number, whatever the number of
// UEs (a per-key record would write a line per new UE), and one fsync covers a block of values for all.
//
// Reservations are appended to a journal file (one decimal ceiling per line; the largest line wins, so a
// torn last line after a crash is only a smaller, older ceiling) and made durable with fdatasync. While
// values are far below the durable ceiling, handing one out touches no disk. When the highest value comes
// within half a block of it, the next block is reserved in the background (libuv's threads do the write
// and the fdatasync); only if values outrun that write does a value wait for a synchronous reservation.
// Reserving ahead costs counter space, not safety: a restart skips at most the reserved rest.
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ReferenceStateError } from './errors.ts';

/** Largest COUNTER value (32 bits, RFC 3830 §6.6). */
export const MAX_COUNTER = 0xffff_ffff;

/** Where reservations are kept: on disk (a journal file) or, without a path, in memory for one process. */
export class ReservationJournal {
  readonly path?: string;
  #durable = 0;
  #fd?: number;
  #inFlight = false;
  #failure?: Error;

  constructor(path?: string) {
    this.path = path;
    if (!path) return;
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ReferenceStateError(path, `cannot read the counter journal: ${(error as Error).message}`, { cause: error });
    }
    const lines = text.split('\n');
    for (const line of lines) {
      const n = Number(line);
      if (/^\d+$/.test(line) && n <= MAX_COUNTER && n > this.#durable) this.#durable = n;
    }
    try {
      mkdirSync(dirname(path), { recursive: true });
      // A journal of many blocks is compacted to its ceiling (atomically: temporary file, fsync, rename)
      if (lines.length > 1024) rewrite(path, `${this.#durable}\n`);
      this.#fd = openSync(path, 'a', 0o600);
    } catch (error) {
      throw new ReferenceStateError(path, `cannot open the counter journal: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The highest ceiling known to be on disk (every value handed out is at most this). */
  get durable(): number {
    return this.#durable;
  }

  /** Reserves up to `ceiling` and returns once it is on disk. */
  reserve(ceiling: number): void {
    if (this.#failure) throw this.#failure;
    if (ceiling <= this.#durable) return;
    if (this.#fd !== undefined) {
      try {
        writeSync(this.#fd, `${ceiling}\n`);
        fdatasyncSync(this.#fd);
      } catch (error) {
        throw new ReferenceStateError(this.path!, `cannot write the counter journal: ${(error as Error).message}`, { cause: error });
      }
    }
    this.#durable = ceiling;
  }

  /** Starts reserving up to `ceiling` in the background, unless a reservation is under way already. */
  reserveAhead(ceiling: number): void {
    if (this.#inFlight || this.#failure || ceiling <= this.#durable) return;
    if (this.#fd === undefined) {
      this.#durable = ceiling;
      return;
    }
    this.#inFlight = true;
    const fd = this.#fd;
    const done = (error: NodeJS.ErrnoException | null) => {
      this.#inFlight = false;
      // A failed background write stops every later reservation: values then fail instead of going unreserved
      if (error) this.#failure = new ReferenceStateError(this.path!, `cannot write the counter journal: ${error.message}`, { cause: error });
      else if (ceiling > this.#durable) this.#durable = ceiling;
    };
    write(fd, `${ceiling}\n`, (error) => (error ? done(error) : fdatasync(fd, done)));
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function rewrite(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

export interface CounterBookOptions {
  /**
   * Values reserved per journal write (default 1000). The next block is reserved in the background when
   * values come within half a block of the ceiling; a restart skips at most this many values.
   */
  reserveBlock?: number;
  /** Where reservations go (default: memory only). */
  journal?: ReservationJournal;
  /**
   * A floor from elsewhere: every value is above it (the per-key ceilings of a state file written before
   * the journal existed).
   */
  floor?: number;
}

/** Per-key counter values (for GET /state). */
export type CounterValues = Record<string, number>;

/**
 * Strictly increasing 32-bit counters, keyed by name (e.g. `muk:<B-TID>`, `msk:<domain>/<MSK ID>`), that
 * survive a restart: every value handed out is covered by a durable reservation, and after a restart
 * every key continues above the last reservation.
 */
export class CounterBook {
  #issued = new Map<string, number>();
  readonly #floor: number;
  readonly #block: number;
  readonly #journal: ReservationJournal;
  #highest: number;

  constructor(options: CounterBookOptions = {}) {
    this.#block = Math.max(1, Math.floor(options.reserveBlock ?? 1000));
    this.#journal = options.journal ?? new ReservationJournal();
    // Anything up to the last reservation may have been sent before this start.
    this.#floor = Math.max(this.#journal.durable, Math.min(MAX_COUNTER, Math.floor(options.floor ?? 0)));
    this.#highest = this.#floor;
  }

  /** The last value handed out for `key` (0 when none since this start). */
  last(key: string): number {
    return this.#issued.get(key) ?? 0;
  }

  /** The next value for `key`, strictly greater than any value handed out before under it (also before a restart). */
  next(key: string): number {
    const value = (this.#issued.get(key) ?? this.#floor) + 1;
    if (value > MAX_COUNTER) {
      // Counter wrap is unsupported (protocol §6.1): the key must be renewed first.
      throw new RangeError(`counter ${key} exhausted (2^32 - 1 reached); renew the key`);
    }
    if (value > this.#highest) this.#highest = value;
    const ceiling = Math.min(MAX_COUNTER, this.#highest + this.#block);
    if (value > this.#journal.durable) this.#journal.reserve(ceiling);
    else if (this.#journal.durable - value < this.#block / 2) this.#journal.reserveAhead(ceiling);
    this.#issued.set(key, value);
    return value;
  }

  /** Last value handed out for every counter since this start. */
  issued(): CounterValues {
    return Object.fromEntries([...this.#issued.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** The durable reservation: every value handed out, under any key, is at most this. */
  get reserved(): number {
    return this.#journal.durable;
  }
}
