// Worker side of generator-thread.ts: one slice of the load population running its procedures (runLoad),
// posting each second's sample and, at the end, its summary.
import { parentPort, workerData } from 'node:worker_threads';
import { runLoad, type LoadOptions } from './run.ts';

const port = parentPort!;
const input = workerData as Omit<LoadOptions, 'onSecond'>;
// Buffers cross a thread as Uint8Arrays: the target's Key Domain ID is made a Buffer again
const keyDomainId = Buffer.from(input.target.keyDomainId);
runLoad({ ...input, target: { ...input.target, keyDomainId }, onSecond: (s) => port.postMessage({ second: s }) })
  .then((summary) => port.postMessage({ summary }), (e: Error) => port.postMessage({ error: e.message }));
