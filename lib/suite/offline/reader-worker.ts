// Worker side of the reader thread (reader-thread.ts): streamCapture with a consumer that packs its calls
// into batches in the shared slots for the analyzing thread.
import { workerData, parentPort } from 'node:worker_threads';
import type { Endpoint, TraceEvent, TraceProblem } from '../../trace/index.ts';
import { AnalyzeInputError } from './errors.ts';
import { streamCapture, type UdpRecord } from './events.ts';
import {
  ACTORS, BATCH_ENTRIES, Entry, FIELDS_PER_ENTRY, SLOTS, SLOT_FRAMES, SLOT_OCTETS, slotViews,
  type Batch, type WorkerInput, type WorkerMessage,
} from './reader-thread.ts';

const { path, options, consumed, slots: memory } = workerData as WorkerInput;
const consumedCount = new Int32Array(consumed);
const slots = Array.from({ length: SLOTS }, (_, i) => slotViews(memory, i));
const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);

const addressIndex = new Map<string, number>();
let posted = 0;
let slot = slots[0]!;
let entries = 0;
let frameCount = 0;
let octetCount = 0;
let newAddresses: string[] = [];
let objects: Batch['objects'] = [];

/** Waits until the consumer has taken the batch the next slot held (this thread only blocks). */
function claimSlot(): void {
  for (let taken = Atomics.load(consumedCount, 0); posted - taken >= SLOTS; taken = Atomics.load(consumedCount, 0)) {
    Atomics.wait(consumedCount, 0, taken, 1000);
  }
  slot = slots[posted % SLOTS]!;
}

function flush(): void {
  if (entries === 0) return;
  post({ type: 'batch', slot: posted % SLOTS, entries, addresses: newAddresses, objects });
  posted++;
  entries = frameCount = octetCount = 0;
  newAddresses = [];
  objects = [];
}

function address(a: string): number {
  let i = addressIndex.get(a);
  if (i === undefined) {
    i = addressIndex.size;
    addressIndex.set(a, i);
    newAddresses.push(a);
  }
  return i;
}

/** A new entry of the batch (the batch is posted first when the entry or its octets and frames would not fit). */
function entry(kind: number, frames = 0, octets = 0): number {
  if (entries === BATCH_ENTRIES || frameCount + frames > SLOT_FRAMES || octetCount + octets > SLOT_OCTETS) flush();
  if (entries === 0) claimSlot();
  slot.kinds[entries] = kind;
  return entries++ * FIELDS_PER_ENTRY;
}

function packed(kind: number, time: number, second: number, src: Endpoint, dst: Endpoint, eventFrames: number[], bytes: Uint8Array | undefined, actor: number): void {
  const n = entry(kind, eventFrames.length, bytes?.length ?? 0);
  const x = slot.numbers;
  x[n] = time;
  x[n + 1] = second;
  x[n + 2] = address(src.address);
  x[n + 3] = src.port;
  x[n + 4] = address(dst.address);
  x[n + 5] = dst.port;
  x[n + 6] = octetCount;
  x[n + 7] = bytes?.length ?? 0;
  x[n + 8] = frameCount;
  x[n + 9] = eventFrames.length;
  x[n + 10] = actor;
  for (const f of eventFrames) slot.frames[frameCount++] = f;
  if (bytes) {
    slot.octets.set(bytes, octetCount);
    octetCount += bytes.length;
  }
}

try {
  const summary = await streamCapture(path, options, {
    onEvent(event: TraceEvent) {
      // A datagram is at most 65,527 octets and a few dozen fragments: it always fits an empty slot
      if (event.kind === 'mikey' && event.message === undefined && event.decodeError === undefined) {
        packed(Entry.Mikey, event.time, event.id, event.src, event.dst, event.frames, event.bytes, ACTORS.indexOf(event.actor as (typeof ACTORS)[number]));
      } else {
        entry(Entry.Object);
        objects.push({ event });
      }
    },
    onUdp(record: UdpRecord) {
      packed(Entry.Udp, record.time, record.length, record.src, record.dst, record.frames, undefined, 0);
    },
    onProblem(problem: TraceProblem) {
      entry(Entry.Object);
      objects.push({ problem });
    },
    onClock(time: number) {
      const n = entry(Entry.Clock); // (may move to the next slot: the slot is read after it)
      slot.numbers[n] = time;
    },
  });
  flush();
  post({ type: 'done', summary });
} catch (e) {
  const input = e instanceof AnalyzeInputError;
  post({ type: 'failed', input, file: input ? e.file : path, reason: input ? e.reason : '', message: (e as Error).message ?? String(e) });
}
