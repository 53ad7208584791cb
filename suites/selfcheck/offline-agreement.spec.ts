// One judge, proven: the offline fault matrix. For every fault of the references, its first expected catch
// runs live against a reference with that fault (fixtures/offline-agreement.ts), recorded on the wire with
// tcpdump, and analyze re-judges that pcap. The FAIL checks blamed on the SUT must be the same in both
// judgements, except the differences fixtures/offline-agreement.expected.yaml lists with their reasons (what
// a capture cannot show). The fault-free reference meets the same case: analyze blames it for nothing.
// Needs root and tcpdump (the wire capture); skipped otherwise.
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { parse } from 'yaml';
import { findExecutable, isRoot } from '../../lib/capture/index.ts';
import { agreement } from '../../fixtures/offline-agreement.ts';

type Difference = { live: string[]; offline: string[]; why: string };
const catches = parse(readFileSync(new URL('../../fixtures/fault-matrix.expected.yaml', import.meta.url), 'utf8')) as Record<'bmsc' | 'ue', Record<string, string[]>>;
const differences = parse(readFileSync(new URL('../../fixtures/offline-agreement.expected.yaml', import.meta.url), 'utf8')) as Record<'bmsc' | 'ue', Record<string, Difference>>;

test.describe.configure({ mode: 'parallel' });

for (const role of ['bmsc', 'ue'] as const) {
  for (const [fault, ids] of Object.entries(catches[role])) {
    const caseId = ids[0]!;
    test(`${role}: ${fault} in ${caseId}, live and offline FAIL the same checks on the ${role === 'bmsc' ? 'BM-SC' : 'UE'}`, async () => {
      test.skip(!isRoot() || !findExecutable('tcpdump'), 'needs root and tcpdump');
      test.setTimeout(120_000);
      const faulty = await agreement(role, fault, caseId);
      const declared = differences[role]?.[fault];
      const live = faulty.live.filter((c) => !declared?.live.includes(c));
      const offline = faulty.offline.filter((c) => !declared?.offline.includes(c));
      expect(offline, `analyze's FAIL checks on the ${role} (live: ${faulty.live.join(', ')})`).toEqual(live);
      if (declared) {
        // A listed difference that no longer shows is stale: the list says what analyze cannot see.
        expect(faulty.live, `listed as live-only for ${fault}: ${declared.why}`).toEqual(expect.arrayContaining(declared.live));
        expect(faulty.offline, `listed as offline-only for ${fault}`).toEqual(expect.arrayContaining(declared.offline));
      }
      const clean = await agreement(role, null, caseId);
      expect(clean.liveVerdict, `${caseId} against the fault-free reference`).toBe('PASS');
      expect(clean.offline, `analyze blames the fault-free ${role} in ${caseId}`).toEqual([]);
    });
  }
}

test('every listed difference names a fault of the matrix and a reason', () => {
  for (const role of ['bmsc', 'ue'] as const) {
    for (const [fault, d] of Object.entries(differences[role] ?? {})) {
      expect(Object.keys(catches[role]), `${role}.${fault}`).toContain(fault);
      expect(d.why.length, `${role}.${fault}: why`).toBeGreaterThan(20);
    }
  }
});
