import { expect, test } from '@playwright/test';
import { DeadlineQueue } from './deadlines.ts';

test('expired windows come out in deadline order, ties in push order, nothing before its deadline', () => {
  const q = new DeadlineQueue<string>();
  const deadlines = [50, 10, 30, 10, 70, 20, 30, 5];
  deadlines.forEach((d, i) => q.push(d, `w${i}`));
  expect(q.popExpired(5)).toBeUndefined(); // a deadline of 5 has not passed at 5
  const out: string[] = [];
  for (let e = q.popExpired(31); e; e = q.popExpired(31)) out.push(`${e.deadline}:${e.item}`);
  expect(out).toEqual(['5:w7', '10:w1', '10:w3', '20:w5', '30:w2', '30:w6']);
  expect(q.size).toBe(2);
  expect(q.popExpired(Number.POSITIVE_INFINITY)?.item).toBe('w0');
});

test('a heap of random deadlines drains sorted', () => {
  const q = new DeadlineQueue<number>();
  const values = Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 1013) + 0.5);
  values.forEach((v, i) => q.push(v, i));
  const out: number[] = [];
  for (let e = q.popExpired(Infinity); e; e = q.popExpired(Infinity)) out.push(e.deadline);
  expect(out).toEqual([...values].sort((a, b) => a - b));
});
