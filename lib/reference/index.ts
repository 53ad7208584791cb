// Public API of lib/reference: the reference BM-SC and reference UE on real sockets, their control API and
// fault injection (docs/architecture.md).
export * from './common/index.ts';
export * from './bmsc/index.ts';
