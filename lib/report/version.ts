// The suite version, from the project's package.json (the report names it in environment.properties
// and in the certification summary).
import { readFileSync } from 'node:fs';

/** From lib/report/ (sources) or dist/lib/report/ (build), the nearest package.json named mbms-conform. */
export function packageVersion(): string | undefined {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mbms-conform') return pkg.version;
    } catch {
      // not there: try the next folder up
    }
  }
  return undefined;
}
