// Proof that analyze blames the right side: the reference BM-SC and the reference UE talking directly, one
// fault of either at a time, recorded with tcpdump and judged by analyze (fixtures/pcaps/pair.ts). Every
// fault visible on such a wire FAILs with its rule blamed on the faulty side and none on the other; the
// faults that need a faulty counterpart to show leave the capture without a FAIL; the fault-free pair PASSes.
// Needs root and tcpdump (the capture is what the kernel carried); skipped otherwise.
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { parse } from 'yaml';
import { findExecutable, isRoot } from '../../lib/capture/index.ts';
import { PAIR_FAULTS, failSides, pairCapture } from '../../fixtures/pcaps/pair.ts';

const expected = parse(readFileSync(new URL('../../fixtures/pair-captures.expected.yaml', import.meta.url), 'utf8')) as {
  visible: Record<string, string>; invisible: Record<string, string>;
};

test.describe.configure({ mode: 'parallel' });

test('every fault of the references is listed as visible or invisible in a pair capture', () => {
  const listed = [...Object.keys(expected.visible), ...Object.keys(expected.invisible)].sort();
  expect(listed).toEqual(PAIR_FAULTS.filter((f) => f.side !== 'none').map((f) => f.name).sort());
});

PAIR_FAULTS.forEach((fault, index) => {
  test(`pair capture, ${fault.name === 'none' ? 'fault-free' : `fault ${fault.name} (${fault.side === 'bmsc' ? 'BM-SC' : 'UE'})`}`, async () => {
    test.skip(!isRoot() || !findExecutable('tcpdump'), 'needs root and tcpdump');
    test.setTimeout(120_000);
    const result = await pairCapture(fault.name, index);
    const fails = failSides(result);
    if (fault.side === 'none') {
      expect(fails, 'the fault-free pair').toEqual([]);
      expect(result.verdict).toBe('PASS');
      return;
    }
    const other = fault.side === 'bmsc' ? 'ue' : 'bmsc';
    expect(fails.filter((f) => f.startsWith(`${other}:`)), `FAILs blamed on the innocent ${other}`).toEqual([]);
    const rule = expected.visible[fault.name];
    if (rule) expect(fails, `the catch of ${fault.name}`).toContain(`${fault.side}:${rule}`);
    else expect(fails, `${fault.name} is listed invisible: ${expected.invisible[fault.name]}`).toEqual([]);
  });
});
