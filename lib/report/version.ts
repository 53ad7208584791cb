// The suite version, from the project's package.json (the report names it in environment.properties
// and in the certification summary).
import { readFileSync } from 'node:fs';

export function packageVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version;
  } catch {
    return undefined;
  }
}
