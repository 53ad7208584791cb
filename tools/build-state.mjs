// What the build (tools/build.mjs) read, and whether dist/ is still current: the one rule that
// bin/mbms-conform.js (in a checkout) and bench/startup.ts apply. The build writes dist/BUILT last, as
// JSON listing its inputs relative to the project root: every TypeScript source it compiled, every data
// file it copied, and the folders it copied from (a file added to a suites folder changes the folder's
// time). dist/ is current when every input still exists and none is newer than dist/BUILT.
import { readFileSync, statSync, writeFileSync } from 'node:fs';

/** dist/BUILT of the project at `root` (a file URL ending in '/'). */
const builtFile = (root) => new URL('dist/BUILT', root);

/** Writes dist/BUILT with the inputs (paths relative to the root). */
export function recordBuild(root, inputs) {
  writeFileSync(builtFile(root), `${JSON.stringify({ built: new Date().toISOString(), inputs }, null, 1)}\n`);
}

/** True when dist/ exists and no input of its build changed since. */
export function buildIsCurrent(root) {
  const built = statSync(builtFile(root), { throwIfNoEntry: false });
  if (!built) return false;
  let inputs;
  try {
    ({ inputs } = JSON.parse(readFileSync(builtFile(root), 'utf8')));
  } catch {
    return false; // a BUILT of another form: build again
  }
  return Array.isArray(inputs) && inputs.every((path) => {
    const input = statSync(new URL(path, root), { throwIfNoEntry: false });
    return input !== undefined && input.mtimeMs <= built.mtimeMs;
  });
}
