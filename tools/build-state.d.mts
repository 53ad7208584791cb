// Types of tools/build-state.mjs (for bench/startup.ts).
export function recordBuild(root: URL, inputs: string[]): void;
export function buildIsCurrent(root: URL): boolean;
