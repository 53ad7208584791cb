// The standalone validators the build writes (ajv standalone code) judge exactly as the schemas compiled
// at run time: same verdict and same errors, on the project's own documents and on broken copies of them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { test, expect } from '@playwright/test';
import type { ValidateFunction } from 'ajv';
import { schemaValidator, standaloneValidatorCode } from './schema-validator.ts';

const root = new URL('../../', import.meta.url);
const yaml = (path: string): unknown => parse(readFileSync(new URL(path, root), 'utf8'));

/** Each schema with documents it must accept, and a change that breaks each. */
const CASES: { schema: string; valid: unknown[]; broken: (doc: any) => void }[] = [
  { schema: 'lib/mbms/profile.schema.json', valid: [], broken: (d) => { d.retransmission.count = 'three'; d.extra = 1; } },
  { schema: 'lib/suite/suite.schema.json', valid: [yaml('suites/bmsc/6.3.1-msk-request.yaml'), yaml('suites/ue/6.3.3-mtk-update.yaml')], broken: (d) => { d.cases[0].steps[0] = { bogus: 1 }; delete d.clause; } },
  { schema: 'lib/suite/pics.schema.json', valid: [yaml('fixtures/pics/reference-bmsc.yaml'), yaml('fixtures/pics/reference-ue.yaml')], broken: (d) => { d.capabilities = 'all'; } },
  { schema: 'lib/suite/sut.schema.json', valid: [yaml('fixtures/sut-example.yaml')], broken: (d) => { d.sut.http.port = 'nine'; d.role = 'enb'; } },
  { schema: 'lib/suite/offline/keys.schema.json', valid: [yaml('fixtures/pcaps/keys.yaml')], broken: (d) => { d.unknownSection = []; } },
];

test('standalone validators agree with the compiled schemas, error for error', async () => {
  const { referenceProfile } = await import('./profile.ts');
  CASES[0]!.valid.push(JSON.parse(JSON.stringify(referenceProfile())));
  // under the checkout, so the code's require('ajv/dist/runtime/...') finds the project's ajv
  const dir = resolve(mkdtempSync(join('reports', 'standalone-')));
  try {
    for (const c of CASES) {
      const url = new URL(c.schema, root);
      const file = join(dir, `${c.schema.replace(/\W/g, '_')}.cjs`);
      writeFileSync(file, standaloneValidatorCode(url));
      const standalone = createRequire(import.meta.url)(file) as ValidateFunction;
      const compiled = schemaValidator(url);
      expect(c.valid.length, c.schema).toBeGreaterThan(0);
      for (const doc of c.valid) {
        expect(compiled(doc), `${c.schema}: ${JSON.stringify(compiled.errors)}`).toBe(true);
        expect(standalone(doc), c.schema).toBe(true);
        const bad = structuredClone(doc);
        c.broken(bad);
        expect(compiled(bad), c.schema).toBe(false);
        expect(standalone(bad), c.schema).toBe(false);
        expect(standalone.errors, c.schema).toEqual(compiled.errors);
        expect(compiled.errors!.length).toBeGreaterThan(0);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
