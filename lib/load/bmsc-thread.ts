// The embedded reference BM-SC of a load run in a thread of its own: its event loop on one core, the
// generator's on the other. In one thread they shared one event loop and the run topped out near 750
// procedures a second on two cores, with the tester starved (docs/load.md).
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';
import type { BmscEndpoints } from '../reference/bmsc/events.ts';

/**
 * The BM-SC thread's young generation (MB). Each procedure allocates request and response objects, buffers
 * and MIKEY messages that live for the few milliseconds it takes; with V8's default a share of them
 * survived into the old generation and were collected later at a higher cost. 64 MB cut the 1,000/s p99
 * by about a fifth over repeated runs on the 2-vCPU machine (docs/load.md).
 */
const YOUNG_GENERATION_MB = 64;

export interface BmscThreadInput {
  /** UEs subscribed to the key group under load, then `unsubscribed` UEs subscribed to another group only. */
  ues: number; unsubscribed?: number; seed: string; firstUe: number; faults: string[]; keyDomainId: string; keyGroup: number; uePort?: number;
}

/** Requests to the BM-SC thread; each but 'stop' carries an id its answer repeats (several may be in flight). */
export type BmscThreadRequest = 'stop' | ({ id: number } & ({ push: true } | { pull: true } | { mtk: true } | { outstanding: true }));

export interface BmscThread {
  endpoints: BmscEndpoints;
  /** Pushes a new MSK of the key group to every subscribed UE; resolves when every first message is sent. */
  pushGroup(): Promise<number>;
  /** Announces a new MSK of the key group to every subscribed UE by a solicited-pull trigger (§6.3.2.1). */
  pullGroup(): Promise<number>;
  /** Sends a new MTK under the pushed MSK to every UE of the group (§6.3.3); resolves to its MTK ID (hex). */
  mtkUpdate(): Promise<string>;
  /** Deliveries the BM-SC still waits an ACK for. */
  outstandingAcks(): Promise<number>;
  stop(): Promise<void>;
}

let nextRequestId = 1;

function ask<T>(worker: Worker, request: { push: true } | { pull: true } | { mtk: true } | { outstanding: true }, pick: (m: Record<string, unknown>) => T | undefined): Promise<T> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const on = (m: Record<string, unknown>) => {
      if (typeof m !== 'object' || m === null || m.id !== id) return;
      if (typeof m.pushError === 'string') { worker.off('message', on); reject(new Error(m.pushError)); return; }
      const v = pick(m);
      if (v === undefined) return;
      worker.off('message', on);
      resolve(v);
    };
    worker.on('message', on);
    worker.postMessage({ ...request, id });
  });
}

export async function startBmscThread(input: BmscThreadInput): Promise<BmscThread> {
  const worker = startWorker(import.meta.url, 'bmsc-worker', { workerData: input, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
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
    pushGroup: () => ask(worker, { push: true }, (m) => (typeof m.pushed === 'number' ? m.pushed : undefined)),
    pullGroup: () => ask(worker, { pull: true }, (m) => (typeof m.pushed === 'number' ? m.pushed : undefined)),
    mtkUpdate: () => ask(worker, { mtk: true }, (m) => (typeof m.mtkId === 'string' ? m.mtkId : undefined)),
    outstandingAcks: () => ask(worker, { outstanding: true }, (m) => (typeof m.outstanding === 'number' ? m.outstanding : undefined)),
    stop: async () => {
      const stopped = new Promise<void>((resolve) => worker.on('message', (m) => { if (m === 'stopped') resolve(); }));
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000))]);
      await worker.terminate();
    },
  };
}
