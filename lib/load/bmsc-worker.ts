// Worker side of bmsc-thread.ts: the reference BM-SC with the load run's population as its users.
import { parentPort, workerData } from 'node:worker_threads';
import { ReferenceBmsc } from '../reference/index.ts';
import type { BmscThreadInput } from './bmsc-thread.ts';
import { embeddedLoadProfile, population } from './population.ts';

const input = workerData as BmscThreadInput;
const port = parentPort!;
try {
  const keyDomainId = Buffer.from(input.keyDomainId, 'hex');
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.example.com', profile: embeddedLoadProfile(), faults: input.faults, mtkRekey: false,
    services: [{ keyDomainId, keyGroup: input.keyGroup, name: 'load' }],
    users: population(input.ues, input.seed, input.firstUe).map((u) => ({ btid: u.btid, ksNaf: u.ksNaf, ...(input.uePort ? { uePort: input.uePort } : {}), subscriptions: [{ keyDomainId, keyGroups: [input.keyGroup] }] })),
  });
  const endpoints = await bmsc.start();
  port.on('message', (m) => {
    if (m === 'stop') void bmsc.stop().then(() => port.postMessage('stopped'));
  });
  port.postMessage({ endpoints });
} catch (e) {
  port.postMessage({ error: { name: (e as Error).name, message: (e as Error).message } });
}
