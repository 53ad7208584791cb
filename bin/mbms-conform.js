#!/usr/bin/env node
// Entry point of the `mbms-conform` command: loads the TypeScript sources through tsx,
// so the repository runs as checked out, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
