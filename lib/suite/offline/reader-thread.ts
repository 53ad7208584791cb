// The capture read in a second thread: reading, link/IP/UDP/TCP dissection, HTTP parsing, reordering and
// numbering (streamCapture, events.ts) run in a worker thread, and the consumer (the analyzer: decoding,
// MAC and key checks, judging) gets the same calls in the same order in the calling thread. On two cores
// the two halves overlap: reading and dissecting is about a third of the cost of a MIKEY-heavy capture.
//
// Only the transport is here; what the events are is streamCapture's alone. A batch carries the MIKEY
// datagrams and plain UDP records packed into a slot of shared memory (octets, times, frames, endpoint
// indexes into an address table sent once per address), anything else (HTTP events, problems) as
// structured-cloned objects, and the clock ticks. SLOTS slots are allocated once and reused: the worker
// fills a slot only once the consumer has taken the batch it held, so a slow consumer stops the reading,
// nothing is allocated per batch, and memory stays bounded whatever the capture holds.
//
// Why the split is there and not between decoding and crypto: a decoded MIKEY tree costs more to copy
// between threads than to decode again, and which key checks a message is learnt from the messages before
// it (an MTK message needs the MSK an earlier MSK message delivered), so judging stays in one thread.
import { startWorker } from '../../worker-thread.ts';
import type { Endpoint, MikeyEvent, TraceEvent, TraceProblem } from '../../trace/index.ts';
import { AnalyzeInputError } from './errors.ts';
import type { EventConsumer, StreamOptions, StreamSummary, UdpRecord } from './events.ts';

/** Entries per batch, batches the worker may have ahead of the consumer, and a slot's frame and octet capacity. */
export const BATCH_ENTRIES = 2048;
/** Numbers per packed entry (Float64Array): time, id/length, src address, src port, dst address, dst port, octets offset, octets length, first frame index, frame count, actor. */
export const FIELDS_PER_ENTRY = 11;
export const SLOTS = 4;
export const SLOT_FRAMES = 8 * BATCH_ENTRIES;
export const SLOT_OCTETS = 512 * 1024;

/** Views of one slot of shared memory. */
export interface Slot { kinds: Uint8Array; numbers: Float64Array; frames: Float64Array; octets: Uint8Array }

const SLOT_BYTES = SLOT_FRAMES * 8 + BATCH_ENTRIES * FIELDS_PER_ENTRY * 8 + SLOT_OCTETS + BATCH_ENTRIES;

export function slotViews(memory: SharedArrayBuffer, slot: number): Slot {
  let at = slot * SLOT_BYTES;
  const take = <T>(make: (at: number) => T, bytes: number): T => {
    const view = make(at);
    at += bytes;
    return view;
  };
  return {
    frames: take((a) => new Float64Array(memory, a, SLOT_FRAMES), SLOT_FRAMES * 8),
    numbers: take((a) => new Float64Array(memory, a, BATCH_ENTRIES * FIELDS_PER_ENTRY), BATCH_ENTRIES * FIELDS_PER_ENTRY * 8),
    octets: take((a) => new Uint8Array(memory, a, SLOT_OCTETS), SLOT_OCTETS),
    kinds: take((a) => new Uint8Array(memory, a, BATCH_ENTRIES), BATCH_ENTRIES),
  };
}

export const sharedMemoryBytes = (): number => SLOTS * SLOT_BYTES;

/** Entry kinds of a batch, in delivery order. */
export const Entry = { Mikey: 0, Udp: 1, Object: 2, Clock: 3 } as const;


export interface Batch {
  type: 'batch';
  slot: number;
  entries: number;
  /** Addresses first used in this batch, appended to the table in order. */
  addresses: string[];
  /** Entries of kind Object: events other than MIKEY, and problems. */
  objects: ({ event: TraceEvent } | { problem: TraceProblem })[];
}

export type WorkerMessage =
  | Batch
  | { type: 'done'; summary: StreamSummary }
  | { type: 'failed'; input: boolean; file: string; reason: string; message: string };

/**
 * `consumed`: batches the consumer has taken, counted in shared memory (Int32Array): the worker waits on
 * it before it fills a slot still held. `slots`: the SLOTS slots (slotViews).
 */
export interface WorkerInput { path: string; options: StreamOptions; consumed: SharedArrayBuffer; slots: SharedArrayBuffer }

export const ACTORS = ['ue', 'bmsc', 'tester', 'sut'] as const;

/** Streams the capture through a reader thread into `consumer` (same calls, same order as streamCapture). */
export async function streamCaptureInThread(path: string, options: StreamOptions, consumer: EventConsumer): Promise<StreamSummary> {
  const consumed = new SharedArrayBuffer(4);
  const consumedCount = new Int32Array(consumed);
  const memory = new SharedArrayBuffer(sharedMemoryBytes());
  const slots = Array.from({ length: SLOTS }, (_, i) => slotViews(memory, i));
  const worker = startWorker(import.meta.url, 'reader-worker', {
    workerData: { path, options, consumed, slots: memory } satisfies WorkerInput,
    // A small heap: the reader holds a reorder window and a batch, nothing that grows with the capture
    resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 32 },
  });
  const addresses: string[] = [];
  const endpoints = new Map<number, Endpoint>();
  const endpoint = (address: number, port: number): Endpoint => {
    const key = address * 65_536 + port;
    let e = endpoints.get(key);
    if (!e) {
      e = { address: addresses[address]!, port };
      if (endpoints.size < 65_536) endpoints.set(key, e);
    }
    return e;
  };
  const consume = (b: Batch): void => {
    addresses.push(...b.addresses);
    const slot = slots[b.slot]!;
    let object = 0;
    for (let i = 0; i < b.entries; i++) {
      const kind = slot.kinds[i]!;
      if (kind === Entry.Object) {
        const o = b.objects[object++]!;
        if ('problem' in o) consumer.onProblem?.(o.problem);
        else consumer.onEvent(revive(o.event));
        continue;
      }
      const n = i * FIELDS_PER_ENTRY;
      const x = slot.numbers;
      if (kind === Entry.Clock) {
        consumer.onClock?.(x[n]!);
        continue;
      }
      const frames: number[] = [];
      for (let f = x[n + 8]!, end = f + x[n + 9]!; f < end; f++) frames.push(slot.frames[f]!);
      const src = endpoint(x[n + 2]!, x[n + 3]!);
      const dst = endpoint(x[n + 4]!, x[n + 5]!);
      if (kind === Entry.Udp) {
        const record: UdpRecord = { kind: 'udp', time: x[n]!, frames, src, dst, length: x[n + 1]! };
        consumer.onUdp?.(record);
        continue;
      }
      // A copy of the octets of its own: a kept event must not hold the whole batch
      const bytes = Buffer.from(slot.octets.subarray(x[n + 6]!, x[n + 6]! + x[n + 7]!));
      const event: MikeyEvent = { kind: 'mikey', time: x[n]!, frames, src, dst, actor: ACTORS[x[n + 10]!]!, bytes, id: x[n + 1]! };
      consumer.onEvent(event);
    }
  };
  return new Promise<StreamSummary>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate();
    };
    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      try {
        if (m.type === 'batch') {
          consume(m);
          Atomics.add(consumedCount, 0, 1);
          Atomics.notify(consumedCount, 0);
        } else if (m.type === 'done') settle(() => resolve(m.summary));
        else settle(() => reject(m.input ? new AnalyzeInputError(m.file, m.reason) : new Error(`reader thread: ${m.message}`)));
      } catch (e) {
        settle(() => reject(e));
      }
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(`reader thread exited with code ${code} before the end of the capture`))));
  });
}

/** Buffers of a structured-cloned event arrive as Uint8Arrays. */
function revive(event: TraceEvent): TraceEvent {
  const e = event as unknown as Record<string, unknown>;
  for (const key of ['body', 'bytes']) {
    const v = e[key];
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) e[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return event;
}
