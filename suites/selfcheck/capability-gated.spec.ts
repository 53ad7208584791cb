// Cases that the embedded references' default capability statements rule out (NOT-APPLICABLE in the fault
// matrix) still have to be able to pass and to fail: they run here against a reference configured to have
// the capability, with and without a fault their check must catch.

import { test, expect } from '@playwright/test';
import { headline, loadCapabilityStatement, loadCases, runCase } from '../../lib/suite/index.ts';
import { REFERENCE_BMSC_PICS, embeddedBmsc } from '../../fixtures/embedded.ts';

function withCapability(name: string, value: unknown) {
  const pics = loadCapabilityStatement(REFERENCE_BMSC_PICS);
  return { ...pics, name: `${pics.name} (${name})`, capabilities: { ...pics.capabilities, [name]: value } };
}

test('bmsc/6.3.3/05 (M-B2 re-key cadence) passes against a re-keying BM-SC and fails when MTK IDs repeat', async () => {
  const [c] = loadCases('bmsc').filter((x) => x.id === 'bmsc/6.3.3/05');
  expect(c).toBeDefined();
  expect((await runCase(c!, { sut: embeddedBmsc() })).verdict).toBe('NOT-APPLICABLE');
  const capabilities = withCapability('mtk-rekey', true);
  const good = await runCase(c!, { sut: embeddedBmsc({ mtkRekey: true, capabilities }) });
  expect(good.verdict, headline(good)?.message).toBe('PASS');
  const bad = await runCase(c!, { sut: embeddedBmsc({ mtkRekey: true, capabilities, faults: ['bmsc-repeat-mtk-id'] }) });
  expect(bad.verdict).toBe('FAIL');
  expect(headline(bad)?.check).toBe('mikey.mtk-id');
});
