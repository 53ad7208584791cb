import { test, expect } from '@playwright/test';
import { shownVerdict } from './progress-reporter.ts';

test('the progress line shows the verdict annotation, never better than the Playwright outcome', () => {
  expect(shownVerdict('failed', [{ type: 'verdict', description: 'FAIL: mikey.mac: bad MAC' }])).toEqual({ verdict: 'FAIL', reason: 'mikey.mac: bad MAC' });
  expect(shownVerdict('failed', [{ type: 'verdict', description: 'INCONC: precondition' }])).toEqual({ verdict: 'INCONC', reason: 'precondition' });
  expect(shownVerdict('skipped', [{ type: 'verdict', description: 'NOT-APPLICABLE: no streaming' }]).verdict).toBe('NOT-APPLICABLE');
  expect(shownVerdict('passed', [{ type: 'verdict', description: 'PASS' }])).toEqual({ verdict: 'PASS', reason: '' });
  // the last verdict annotation counts
  expect(shownVerdict('failed', [{ type: 'verdict', description: 'PASS' }, { type: 'verdict', description: 'ERROR: socket' }]).verdict).toBe('ERROR');
  // a PASS that then timed out or failed is a harness ERROR
  expect(shownVerdict('timedOut', [{ type: 'verdict', description: 'PASS' }]).verdict).toBe('ERROR');
  expect(shownVerdict('failed', [{ type: 'verdict', description: 'PASS' }]).verdict).toBe('ERROR');
  // no verdict at all
  expect(shownVerdict('failed', [])).toEqual({ verdict: 'ERROR', reason: 'test failed without a verdict' });
  expect(shownVerdict('passed', [{ type: 'requirement', description: 'x' }]).verdict).toBe('PASS');
  expect(shownVerdict('skipped', []).verdict).toBe('SKIPPED');
});
