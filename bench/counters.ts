// Benchmark of the reference BM-SC's counter reservations (lib/reference/common/counter-journal.ts): a
// push of one MSK to N UEs takes one COUNTER per MUK (N keys, one value each), and a busy key takes many.
// Each run issues the values from the event loop in turns of 100 (as a BM-SC sending messages would), as
// fast as they go or 100 every 5 ms (20,000 values/s, ten times the load of issue 14's 2,000 requests/s), with
// a journal on disk, and reports the time, the longest a single value waited (the event loop blocked) and
// the journal writes, and how many values waited for a synchronous reservation. Block 1 reserves one value
// ahead (a write and fdatasync every other message).
//
//   npx tsx bench/counters.ts [keys]        # default 100,000
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CounterBook, ReservationJournal } from '../lib/reference/common/index.ts';

const keys = Number(process.argv[2] ?? 100_000);

async function run(label: string, block: number, keyOf: (i: number) => string, values: number, turnMs = 0): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-counters-'));
  const journal = new ReservationJournal(join(dir, 'state.json.counters'));
  let waited = 0;
  const reserve = journal.reserve.bind(journal);
  journal.reserve = (ceiling: number) => {
    if (ceiling > journal.durable) waited++;
    reserve(ceiling);
  };
  const book = new CounterBook({ reserveBlock: block, journal });
  let longest = 0;
  const start = performance.now();
  for (let i = 0; i < values; i += 100) {
    for (let k = i; k < Math.min(values, i + 100); k++) {
      const t = performance.now();
      book.next(keyOf(k));
      longest = Math.max(longest, performance.now() - t);
    }
    await new Promise((resolve) => (turnMs > 0 ? setTimeout(resolve, turnMs) : setImmediate(resolve)));
  }
  const seconds = (performance.now() - start) / 1000;
  journal.close();
  const writes = readFileSync(join(dir, 'state.json.counters'), 'utf8').trim().split('\n').length;
  rmSync(dir, { recursive: true, force: true });
  return `| ${label} | ${block} | ${values.toLocaleString('en')} | ${seconds.toFixed(2)} s | ${Math.round(values / seconds).toLocaleString('en')} | ${waited.toLocaleString('en')} | ${longest.toFixed(2)} ms | ${writes.toLocaleString('en')} |`;
}

console.log(`node ${process.version}; ${new Date().toISOString()}\n`);
console.log('| workload | block | values | time | values/s | values that waited for the disk | longest wait of one value | journal writes |');
console.log('|---|---|---|---|---|---|---|---|');
for (const block of [1000, 1]) {
  const n = block === 1 ? Math.min(keys, 10_000) : keys;
  console.log(await run(`one value for each of ${n.toLocaleString('en')} MUKs`, block, (i) => `muk:ue${i}`, n));
  console.log(await run(`${n.toLocaleString('en')} values for one MSK, as fast as they go`, block, () => 'msk:00f110/00010001', n));
  console.log(await run(`${(n / 10).toLocaleString('en')} values for one MSK, 100 every 5 ms (20,000/s)`, block, () => 'msk:00f110/00010001', n / 10, 5));
}
