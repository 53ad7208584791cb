// A heap budget for a long analysis. V8 lets garbage grow to several times the live data before a full
// collection when a program allocates fast (as the judge does, a few kilobytes per message), so the
// resident memory of a capture with many procedures open at once (a push to a large group keeps tens of
// thousands of deliveries in their windows) grew to three times what was live. Checked every 1,024 frames:
// past the budget, a full collection runs, and the next threshold is 1.5 times what it left (so a live set
// above the budget is collected at that pace, not at every check).
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function heapBudget(budgetMb: number): () => void {
  // The collector is reached as V8 exposes it (the flag, then a fresh context where `gc` is defined)
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const budget = budgetMb * 1024 * 1024;
  let threshold = budget;
  return () => {
    if (getHeapStatistics().used_heap_size <= threshold) return;
    gc();
    threshold = Math.max(budget, getHeapStatistics().used_heap_size * 1.5);
  };
}
