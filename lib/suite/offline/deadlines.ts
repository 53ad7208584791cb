// The open windows of an analysis (ACK and retransmission windows, T_pull, T_http) by deadline: a binary
// min-heap, so closing the expired ones costs log(open) per window instead of a scan of every open window
// per event (a push to 100,000 UEs holds 100,000 windows open at once).
//
// A window's deadline may move later (a retransmission extends its delivery): the owner pushes it again
// with the new deadline and the entry under the old one is stale. `popExpired` hands out every entry whose
// deadline passed; the owner skips the stale ones (the item's current deadline is not the entry's, or the
// item is closed). Stale entries leave the heap when their old deadline passes, so the heap holds at most
// the entries pushed within one window length.

/** `seq` keeps windows with one deadline in the order they were pushed (results do not depend on heap order). */
interface Entry<T> { deadline: number; seq: number; item: T }

const before = <T>(a: Entry<T>, b: Entry<T>): boolean => a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);

export class DeadlineQueue<T> {
  readonly #heap: Entry<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(deadline: number, item: T): void {
    const heap = this.#heap;
    heap.push({ deadline, seq: this.#seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  /** Removes and returns the entry with the earliest deadline when that deadline is before `now`. */
  popExpired(now: number): Entry<T> | undefined {
    const heap = this.#heap;
    if (heap.length === 0 || !(heap[0]!.deadline < now)) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < heap.length && before(heap[l]!, heap[min]!)) min = l;
        if (r < heap.length && before(heap[r]!, heap[min]!)) min = r;
        if (min === i) break;
        [heap[min], heap[i]] = [heap[i]!, heap[min]!];
        i = min;
      }
    }
    return top;
  }
}
