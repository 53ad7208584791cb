// Worker side of bmsc-thread.ts: the reference BM-SC with the load run's population as its users, each
// with its MIKEY address (so the BM-SC can push to a UE that never asked), subscribed to the key group
// under load; the `unsubscribed` UEs after them are users subscribed to another group only.
import { parentPort, workerData } from 'node:worker_threads';
import { ReferenceBmsc } from '../reference/index.ts';
import type { BmscThreadInput, BmscThreadRequest } from './bmsc-thread.ts';
import { embeddedLoadProfile, population } from './population.ts';

const input = workerData as BmscThreadInput;
const port = parentPort!;
try {
  const keyDomainId = Buffer.from(input.keyDomainId, 'hex');
  const otherGroup = input.keyGroup + 1;
  const bmsc = new ReferenceBmsc({
    nafFqdn: 'bmsc.example.com', profile: embeddedLoadProfile(), faults: input.faults, mtkRekey: false,
    services: [{ keyDomainId, keyGroup: input.keyGroup, name: 'load' }, { keyDomainId, keyGroup: otherGroup, name: 'load (other group)' }],
    users: population(input.ues + (input.unsubscribed ?? 0), input.seed, input.firstUe).map((u, i) => ({
      btid: u.btid, ksNaf: u.ksNaf, ueAddress: u.address, ...(input.uePort ? { uePort: input.uePort } : {}),
      subscriptions: [{ keyDomainId, keyGroups: [i < input.ues ? input.keyGroup : otherGroup] }],
    })),
  });
  const endpoints = await bmsc.start();
  if (process.env.MBMS_LOAD_DEBUG) {
    const n: Record<string, number> = {};
    for (const e of ['mikey-out', 'ack-in', 'ack-rejected', 'ack-timeout', 'warning'] as const) bmsc.on(e, (x: unknown) => { n[e] = (n[e] ?? 0) + 1; if (e === 'ack-rejected' && n[e] === 1) console.error(JSON.stringify(x)); });
    setInterval(() => console.error('bmsc', JSON.stringify(n)), 1000).unref();
  }
  /** The MSK pushed last: the MTK updates go under it (the other group's MSK has no UE of the run). */
  let pushedMskId: number | undefined;
  port.on('message', (m: BmscThreadRequest) => {
    if (m === 'stop') void bmsc.stop().then(() => port.postMessage('stopped'));
    else if ('push' in m || 'pull' in m) {
      // 6.3.2.1 to the whole group: a new MSK (next Key Number) made current and pushed to every subscribed
      // UE, or announced to each by a solicited-pull trigger
      void bmsc.rotateMsk({ keyDomainId, keyGroup: input.keyGroup, ...('push' in m ? { push: true } : { solicitedPull: true }) })
        .then((r) => {
          pushedMskId = Number.parseInt(r.rotated[0]!.mskId, 16);
          port.postMessage({ id: m.id, pushed: r.messages.length });
        }, (e: Error) => port.postMessage({ id: m.id, pushError: e.message }));
    } else if ('mtk' in m) {
      // 6.3.3: a new MTK under the pushed MSK, sent to every UE of the group
      if (pushedMskId === undefined) port.postMessage({ id: m.id, pushError: 'an MTK update before the push of the MSK' });
      else {
        void bmsc.mtkUpdate({ keyDomainId, mskId: pushedMskId })
          .then((sent) => port.postMessage({ id: m.id, mtkId: sent[0]?.mtkId ?? '' }), (e: Error) => port.postMessage({ id: m.id, pushError: e.message }));
      }
    } else if ('outstanding' in m) port.postMessage({ id: m.id, outstanding: (bmsc.snapshot().outstandingAcks as unknown[]).length });
  });
  port.postMessage({ endpoints });
} catch (e) {
  port.postMessage({ error: { name: (e as Error).name, message: (e as Error).message } });
}
