// Errors of offline analysis (lib/suite/offline): bad input only. A defect seen in the capture is a
// finding (FAIL), never an exception; these classes say that the analysis could not start, and the
// CLI turns them into exit code 2 with one line naming the file and the reason.

/** A capture or profile that cannot be used (missing, unreadable, not a pcap/pcapng, schema violation). */
export class AnalyzeInputError extends Error {
  readonly code: string = 'ERR_ANALYZE_INPUT';
  constructor(readonly file: string, readonly reason: string, readonly line?: number) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`);
    this.name = 'AnalyzeInputError';
  }
}

/** The keys file (secrets for re-judging) does not parse or does not match keys.schema.json. */
export class AnalyzeKeysError extends AnalyzeInputError {
  override readonly code: string = 'ERR_ANALYZE_KEYS';
  constructor(file: string, reason: string, line?: number) {
    super(file, reason, line);
    this.name = 'AnalyzeKeysError';
  }
}
