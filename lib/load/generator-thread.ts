// The load generator in worker threads: each thread runs a slice of the UE population at its share of the
// rate (or of the concurrency), and the slices' summaries are merged (merge.ts: their histograms added).
// Even with one thread it runs off the command's main thread, for the same reason as the BM-SC thread: a
// young generation of its own size (a procedure's request and response objects, buffers and MIKEY messages
// live for milliseconds; with V8's default a share of them was promoted, and the old generation's
// collections stalled the generator).
import { startWorker } from '../worker-thread.ts';
import { addSecond, mergeLoadSummaries } from './merge.ts';
import type { LoadOptions, LoadSummary, SecondSample } from './run.ts';

const YOUNG_GENERATION_MB = 64;

/** Runs `options` over `threads` worker threads; the per-second samples are summed over the threads. */
export async function runLoadInThreads(options: LoadOptions, threads: number): Promise<LoadSummary> {
  const { onSecond, ...plain } = options;
  const n = Math.max(1, Math.min(threads, options.ues));
  const per = Math.floor(options.ues / n);
  const pending = new Map<number, { sample: SecondSample; count: number }>();
  const runs = Array.from({ length: n }, (_, i) => {
    const ues = i === n - 1 ? options.ues - per * (n - 1) : per;
    const slice: Omit<LoadOptions, 'onSecond'> = {
      ...plain, ues, firstUe: (options.firstUe ?? 0) + i * per,
      ...(options.rate !== undefined ? { rate: (options.rate * ues) / options.ues } : {}),
      ...(options.concurrency !== undefined ? { concurrency: Math.max(1, Math.round((options.concurrency * ues) / options.ues)) } : {}),
    };
    const worker = startWorker(import.meta.url, 'generator-worker', { workerData: slice, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    return new Promise<LoadSummary>((resolve, reject) => {
      worker.on('message', (m: { second?: SecondSample; summary?: LoadSummary; error?: string }) => {
        if (m.second) {
          // One line a second for the whole run: a second's sample is shown once every thread gave its own
          const p = pending.get(m.second.second);
          const sample = p ? addSecond(p.sample, m.second) : m.second;
          const count = (p?.count ?? 0) + 1;
          if (count === n) {
            pending.delete(m.second.second);
            onSecond?.(sample);
          } else pending.set(m.second.second, { sample, count });
        } else if (m.summary) {
          resolve(m.summary);
          void worker.terminate();
        } else if (m.error) reject(new Error(m.error));
      });
      worker.once('error', reject);
    });
  });
  const summaries = await Promise.all(runs);
  return summaries.length === 1 ? summaries[0]! : mergeLoadSummaries(summaries);
}
