#!/usr/bin/env node
// Builds dist/: the TypeScript of the command, the libraries, the conformance spec and its Playwright
// configuration compiled to JavaScript (tsc, tsconfig.build.json: relative `.ts` imports rewritten to
// `.js`), beside the data files the compiled code opens relative to itself (JSON schemas, the suites'
// YAML, the references' capability statements). `npm ci` (prepare) and `npm pack` (prepack) run it, so
// both a checkout and an installed package end with runnable JavaScript; bin/mbms-conform.js runs dist/
// while none of the build's inputs changed (tools/build-state.mjs). The build is plain Node: it needs no
// loader itself.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { recordBuild } from './build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** Data files the compiled code reads beside itself (new URL('./x.json', import.meta.url) and the like). */
const ASSETS = [
  { from: 'lib', match: /\.schema\.json$/ },
  { from: 'suites/bmsc', match: /\.ya?ml$/ },
  { from: 'suites/ue', match: /\.ya?ml$/ },
  { from: 'fixtures/pics', match: /\.ya?ml$/ },
];

function* walkFolders(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      yield join(dir, entry.name);
      yield* walkFolders(join(dir, entry.name));
    }
  }
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
// typescript's package.json exports no bin path: find the package folder, then its declared bin.
const tsPackage = createRequire(import.meta.url).resolve('typescript/package.json');
const tsc = join(dirname(tsPackage), JSON.parse(readFileSync(tsPackage, 'utf8')).bin.tsc);
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) {
  rmSync(dist, { recursive: true, force: true }); // never leave a half-built dist/ for the command to run
  console.error('build: tsc failed; dist/ not written');
  process.exit(1);
}
// The build's inputs, relative to the root: the sources tsc compiled (one .js each in dist/), the data
// files copied and the folders they came from (tools/build-state.mjs).
const inputs = [...walk(dist)].filter((f) => f.endsWith('.js')).map((f) => relative(dist, f).replace(/\.js$/, '.ts'));
let copied = 0;
for (const { from, match } of ASSETS) {
  for (const file of walk(join(root, from))) {
    if (!match.test(file)) continue;
    inputs.push(relative(root, file));
    const target = join(dist, relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    cpSync(file, target);
    copied++;
  }
}
// Every schema's validator as standalone code beside it (lib/mbms/schema-validator.ts says why); the
// control API's schema is a set of definitions referenced by id, compiled by the control server itself.
const { standaloneValidatorCode, standaloneValidatorPath } = await import(join(dist, 'lib', 'mbms', 'schema-validator.js'));
let validators = 0;
for (const file of walk(join(dist, 'lib'))) {
  if (!file.endsWith('.schema.json') || file.endsWith('control-api.schema.json')) continue;
  const url = new URL(`file://${file}`);
  writeFileSync(standaloneValidatorPath(url), standaloneValidatorCode(url));
  validators++;
}
for (const { from } of ASSETS) inputs.push(from, ...[...walkFolders(join(root, from))].map((d) => relative(root, d)));
// Written last: what makes dist/ current (bin/mbms-conform.js, bench/startup.ts).
recordBuild(pathToFileURL(`${root}/`), inputs.sort());
console.log(`build: dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s (${copied} data files, ${validators} schema validators)`);
