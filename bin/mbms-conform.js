#!/usr/bin/env node
// Entry point of the `mbms-conform` command. It runs the compiled JavaScript in dist/ (tools/build.mjs,
// run by `npm ci`, `npm run build` and `npm pack`). In a checkout whose TypeScript is newer than the
// build, or that has no build, it runs the sources through tsx instead: slower to start, never stale.
// An installed package ships dist/ and no sources, so it always runs the build.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const built = new URL('dist/BUILT', root);

/** Newest modification time (ms) of what the build reads: tsconfig.build.json's sources and tools/build.mjs's data. */
function newestSource() {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) visit(new URL(`${entry.name}/`, dir));
      else if (/(?<!\.test)\.ts$|\.json$|\.ya?ml$/.test(entry.name)) newest = Math.max(newest, statSync(new URL(entry.name, dir)).mtimeMs);
    }
  };
  for (const folder of ['lib/', 'suites/bmsc/', 'suites/ue/', 'fixtures/pics/']) visit(new URL(folder, root));
  for (const file of ['suites/conformance.spec.ts', 'fixtures/embedded.ts', 'playwright.config.ts']) newest = Math.max(newest, statSync(new URL(file, root)).mtimeMs);
  return newest;
}

function buildIsCurrent() {
  if (!existsSync(built)) return false;
  if (!existsSync(new URL('lib/cli/main.ts', root))) return true; // an installed package: no sources
  return newestSource() <= statSync(built).mtimeMs;
}

let main;
if (process.env.MBMS_FROM_SOURCE !== '1' && buildIsCurrent()) {
  ({ main } = await import('../dist/lib/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../lib/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
