export type MikeyMessage = unknown;
