// A push slice in a child process of its own (push-slice.ts; started by push.ts). Messages from the parent:
// { open: PushSliceInput }, { mtkSent: { mtkId, at } } for each MTK update, then { finish: t0 }; to the parent: { ready } or { error }, { progress } every
// 200 ms, then { result }, after which the process closes its sockets and exits.
import { PushSlice, type PushSliceInput } from './push-slice.ts';

let slice: PushSlice | undefined;
let ticker: NodeJS.Timeout | undefined;
const send = (m: unknown) => process.send?.(m);

process.on('message', (m: { open?: PushSliceInput; mtkSent?: { mtkId: string; at: number }; finish?: number }) => {
  if (m.open) {
    PushSlice.open(m.open).then((s) => {
      slice = s;
      ticker = setInterval(() => send({ progress: s.progress() }), 200);
      send({ ready: true });
    }, (e: NodeJS.ErrnoException) => {
      send({ error: { code: e.code ?? 'ERROR', message: e.message } });
      process.disconnect?.();
    });
  } else if (m.mtkSent && slice) {
    slice.mtkSent(m.mtkSent.mtkId, m.mtkSent.at);
  } else if (m.finish !== undefined && slice) {
    clearInterval(ticker);
    const result = slice.result(m.finish);
    slice.close();
    send({ result });
    process.disconnect?.();
  }
});
// The parent went away (interrupted run): nothing left to report to
process.on('disconnect', () => {
  clearInterval(ticker);
  slice?.close();
});
