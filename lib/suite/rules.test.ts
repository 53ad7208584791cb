// The rule catalogue (rules.ts) is the one list of finding names: every name the code emits is in it,
// every entry is emitted somewhere, and blame follows the rule's side live and offline.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { RULES, blameOf, ruleOf } from './rules.ts';
import { VerdictTracker } from './verdict.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sources(path);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') && d.name !== 'rules.ts' ? [path] : [];
  });
}

/** Finding names written in the code: check outcomes, tracker and instance calls, deadline rules. */
function emittedNames(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [
    /\b(?:pass|fail|inconc|error|notApplicable)\(\s*'([a-z][a-z0-9.-]*)'/g,
    /\bcheck: '([a-z][a-z0-9.-]*)'/g,
    /missedDeadline\([^']*'([a-z][a-z0-9.-]*)'/g,
    /\[\s*'([a-z][a-z0-9.-]*)', '[^']*', `an HTTP response/g,
  ];
  for (const file of sources('lib/suite')) {
    const text = readFileSync(file, 'utf8');
    for (const re of patterns) for (const m of text.matchAll(re)) if (!found.has(m[1]!)) found.set(m[1]!, file);
  }
  return found;
}

test('every finding name the code emits is in the rule catalogue, and every rule is emitted', () => {
  const emitted = emittedNames();
  const missing = [...emitted].filter(([name]) => !ruleOf(name)).map(([name, file]) => `${name} (${file})`);
  expect(missing, 'names missing from lib/suite/rules.ts').toEqual([]);
  const unused = Object.keys(RULES).filter((name) => !emitted.has(name));
  expect(unused, 'rules no code emits').toEqual([]);
});

test('blame: live findings name the SUT, offline ones the rule\'s side; run findings blame nobody', () => {
  expect(blameOf('digest.nc')).toBe('ue');
  expect(blameOf('mikey.encr-alg')).toBe('bmsc');
  expect(blameOf('silence')).toBeUndefined(); // offline: the analyzer names the side
  expect(blameOf('silence', 'bmsc')).toBe('bmsc');
  expect(blameOf('sut.open', 'ue')).toBeUndefined();
  expect(blameOf('order.A-B4', 'bmsc')).toBe('bmsc');
  expect(blameOf('no.such.rule', 'bmsc')).toBeUndefined();

  const live = new VerdictTracker('ue');
  live.fail('ack.iff-v', 'no ACK', 'ACK', 'none', { events: [], frames: [] });
  live.inconc('trigger', 'no control API');
  expect(live.findings.map((f) => f.blame)).toEqual(['ue', undefined]);
});
