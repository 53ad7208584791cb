// The whole project type-checks (tsc --noEmit over tsconfig.json): the compile-time assertions of the tests
// (for example the message types derived from the MIKEY payload table) only hold if the compiler runs.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test, expect } from '@playwright/test';

test('tsc --noEmit finds no error in the project', () => {
  test.setTimeout(120_000);
  const pkg = createRequire(import.meta.url).resolve('typescript/package.json');
  const tsc = spawnSync(process.execPath, [join(dirname(pkg), 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.json'], { encoding: 'utf8' });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});
