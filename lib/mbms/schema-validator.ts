// JSON Schema validators of the project's schema files (profile, suite, capability statement, SUT
// profile, offline keys), one rule for every schema: its `$schema` draft picks the ajv options. The build
// (tools/build.mjs) writes each schema's validator as standalone code beside the compiled schema
// (`<name>.schema.validate.cjs`, ajv's standalone mode), so a process of the installed tool, or a
// Playwright worker, loads a validator in milliseconds instead of compiling it: compiling the suite and
// profile schemas took about a second of CPU per worker on a loaded 2-core host. Run from the sources, a
// schema is compiled on first use, as before.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

/**
 * The ajv instance a schema is compiled with. Draft 2020-12 (the MBMS profile) is checked strictly;
 * the draft-07 schemas carry editor annotations (markdownDescription, yaml-language-server hints) that
 * ajv's strict mode would refuse, so they are compiled with strict off. `source`: keep the generated
 * code for standalone output.
 */
function compilerFor(schema: { $schema?: string }, source = false): Ajv {
  if (/2020-12/.test(schema.$schema ?? '')) {
    const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    return new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, code: { source } });
  }
  const { Ajv: Draft07 } = require('ajv') as typeof import('ajv');
  return new Draft07({ allErrors: true, strict: false, code: { source } });
}

/** Where the build writes the standalone validator of a schema file. */
export function standaloneValidatorPath(schemaUrl: URL): string {
  return fileURLToPath(schemaUrl).replace(/\.json$/, '.validate.cjs');
}

const validators = new Map<string, ValidateFunction>();

/** The validator of a schema file: its standalone code when the build wrote it, else compiled once here. */
export function schemaValidator<T = unknown>(schemaUrl: URL): ValidateFunction<T> {
  let validate = validators.get(schemaUrl.href);
  if (!validate) {
    const standalone = standaloneValidatorPath(schemaUrl);
    if (existsSync(standalone)) {
      validate = require(standalone) as ValidateFunction;
    } else {
      const schema = JSON.parse(readFileSync(schemaUrl, 'utf8')) as { $schema?: string };
      validate = compilerFor(schema).compile(schema);
    }
    validators.set(schemaUrl.href, validate);
  }
  return validate as ValidateFunction<T>;
}

/** The standalone (CommonJS) validation code of a schema file, for the build. */
export function standaloneValidatorCode(schemaUrl: URL): string {
  const schema = JSON.parse(readFileSync(schemaUrl, 'utf8')) as { $schema?: string };
  const ajv = compilerFor(schema, true);
  const standaloneCode = (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;
  return standaloneCode(ajv, ajv.compile(schema));
}
