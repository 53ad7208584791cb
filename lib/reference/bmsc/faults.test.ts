// The reference BM-SC's fault table is the one place a fault changes behaviour: every fault names the hook
// it changes, every hook is a decision the BM-SC's code hands to BmscFaultHooks, and no other file of the
// BM-SC names a fault or asks whether one is active (tests and their support files aside). (That each fault shows on the wire is bmsc.test.ts's
// and the fault matrix's job.)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect } from '@playwright/test';
import { FaultSet } from '../common/index.ts';
import { BMSC_FAULTS, BmscFaultHooks, type BmscHook } from './faults.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('test-') && f !== 'faults.ts')
  .map((f) => ({ file: f, text: readFileSync(join(here, f), 'utf8') }));

test('no BM-SC source outside the fault table names a fault or tests whether one is active', () => {
  for (const { file, text } of sources) {
    for (const fault of BMSC_FAULTS) expect(text.includes(`'${fault.name}'`), `${file} names ${fault.name}`).toBe(false);
    expect(text, file).not.toMatch(/faults\.has\(/);
  }
});

test('every hook a fault changes is a decision the BM-SC hands to the hooks', () => {
  const hooks = new Set(BMSC_FAULTS.map((f) => (f as { hook: BmscHook }).hook));
  const code = sources.map((s) => s.text).join('\n');
  for (const hook of hooks) expect(code, `hook ${hook} is never applied`).toMatch(new RegExp(`(apply|value)\\('${hook}'`));
});

test('a hook with no active fault returns the conformant decision; an active fault changes it and is named', () => {
  const set = new FaultSet('bmsc', BMSC_FAULTS, []);
  const hooks = new BmscFaultHooks(set);
  expect(hooks.apply('counter', 5, { last: 4, next: () => 6 })).toEqual({ value: 5, applied: [] });
  set.set(['bmsc-reuse-counter']);
  expect(hooks.apply('counter', 5, { last: 4, next: () => 6 })).toEqual({ value: 4, applied: ['bmsc-reuse-counter'] });
  // a fault that does not apply in this situation leaves the decision alone and is not named
  set.set(['bmsc-grant-unsubscribed']);
  expect(hooks.apply('authorised', true, {})).toEqual({ value: true, applied: [] });
  expect(hooks.apply('authorised', false, {})).toEqual({ value: true, applied: ['bmsc-grant-unsubscribed'] });
});
