#!/usr/bin/env node
// Entry point of the `mbms-conform` command. It runs the compiled JavaScript in dist/ (tools/build.mjs,
// run by `npm ci`, `npm run build` and `npm pack`). In a checkout where an input of the build changed
// since, or that has no build, it runs the sources through tsx instead: slower to start, never stale.
// An installed package ships dist/ and no sources, so it always runs the build.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);

/** dist/ is run when present and, in a checkout (sources beside it), still current (tools/build-state.mjs). */
async function runBuild() {
  if (!existsSync(new URL('dist/BUILT', root))) return false;
  if (!existsSync(new URL('lib/cli/main.ts', root))) return true; // an installed package: no sources, no tools/
  const { buildIsCurrent } = await import('../tools/build-state.mjs');
  return buildIsCurrent(root);
}

let main;
if (process.env.MBMS_FROM_SOURCE !== '1' && await runBuild()) {
  ({ main } = await import('../dist/lib/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../lib/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
