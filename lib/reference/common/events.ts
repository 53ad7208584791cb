// Waiting on the events of a reference BM-SC or reference UE (tests, the pcap recorder): a bound, never a sleep.
import type { EventEmitter } from 'node:events';

/** Wall-clock time of an event, in epoch milliseconds with sub-millisecond precision (monotonic within a run). */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Resolves with the first `name` event of `emitter` that satisfies `pred`; rejects after `boundMs` ms.
 * The listener is removed either way, so a long run does not pile up listeners.
 */
export function nextEvent<T = any>(emitter: EventEmitter<any>, name: string, pred: (e: T) => boolean, boundMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(name, listener); reject(new Error(`no '${name}' event within ${boundMs} ms`)); }, boundMs);
    const listener = (e: T) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(e);
    };
    emitter.on(name, listener);
  });
}
