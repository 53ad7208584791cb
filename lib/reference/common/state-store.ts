// Persistent state of a reference (counters, keys), kept in one JSON file.
//
// Replay protection in MBMS rests on 32-bit COUNTER timestamps that only ever increase: one per MUK for
// MSK messages, one per MSK for MTK messages (protocol §6.1). A UE stores the last counter it accepted, so
// a BM-SC that restarts and reuses a counter gets its messages dropped as replays. The store therefore
// writes atomically (temporary file, fsync, rename, fsync of the directory), so after a crash the file
// holds either the old or the new state, never a torn one. Counters are reserved apart from it, in a
// journal (counter-journal.ts), so a restarted reference never issues a value it may have sent.

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
