// The embedded reference BM-SC of a load run in a thread of its own: its event loop on one core, the
// generator's on the other. In one thread they shared one event loop and the run topped out near 750
// procedures a second on two cores, with the tester starved (docs/load.md).
import { startWorker } from '../worker-thread.ts';
import type { BmscEndpoints } from '../reference/bmsc/events.ts';

export interface BmscThreadInput { ues: number; seed: string; firstUe: number; faults: string[]; keyDomainId: string; keyGroup: number; uePort?: number }

export interface BmscThread { endpoints: BmscEndpoints; stop(): Promise<void> }

export async function startBmscThread(input: BmscThreadInput): Promise<BmscThread> {
  const worker = startWorker(import.meta.url, 'bmsc-worker', { workerData: input });
  const endpoints = await new Promise<BmscEndpoints>((resolve, reject) => {
    worker.once('message', (m: { endpoints?: BmscEndpoints; error?: { name: string; message: string } }) => {
      if (m.endpoints) resolve(m.endpoints);
      else reject(Object.assign(new Error(m.error?.message ?? 'the BM-SC thread did not start'), { name: m.error?.name ?? 'Error' }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the BM-SC thread exited with code ${code}`)));
  });
  return {
    endpoints,
    stop: async () => {
      const stopped = new Promise<void>((resolve) => worker.once('message', () => resolve()));
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000))]);
      await worker.terminate();
    },
  };
}
