// Errors of lib/suite: one class per failure, each with a stable `code` (docs/architecture.md).
// A suite or profile error is a usage error (the input is wrong); HarnessError is a bug or an
// environment fault of the tool itself and maps to the ERROR verdict, never to FAIL.

export interface SourceLocation { file: string; line?: number; column?: number; field?: string }

function where(loc: SourceLocation): string {
  const pos = loc.line !== undefined ? `:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}` : '';
  return `${loc.file}${pos}${loc.field ? ` (${loc.field})` : ''}`;
}

/** A suite file that does not parse or does not match lib/suite/suite.schema.json. */
export class SuiteSchemaError extends Error {
  readonly code = 'ERR_SUITE_SCHEMA';
  constructor(readonly location: SourceLocation, readonly reason: string) {
    super(`${where(location)}: ${reason}`);
    this.name = 'SuiteSchemaError';
  }
}

/** An applicability expression that does not parse or names an unknown capability. */
export class ExpressionError extends Error {
  readonly code = 'ERR_SUITE_EXPR';
  constructor(readonly expression: string, readonly offset: number, readonly reason: string) {
    super(`applicability '${expression}' at ${offset}: ${reason}`);
    this.name = 'ExpressionError';
  }
}

/** A SUT profile or capability statement that is missing, malformed or inconsistent. */
export class SutProfileError extends Error {
  readonly code = 'ERR_SUT_PROFILE';
  constructor(readonly location: SourceLocation, readonly reason: string) {
    super(`${where(location)}: ${reason}`);
    this.name = 'SutProfileError';
  }
}

/** Two cases share an id, or a case id does not match its file's role/clause. */
export class DuplicateCaseError extends Error {
  readonly code = 'ERR_SUITE_DUPLICATE';
  constructor(readonly id: string, readonly first: string, readonly second: string) {
    super(`case id ${id} is declared twice: ${first} and ${second}`);
    this.name = 'DuplicateCaseError';
  }
}

/** The harness itself failed (socket bind, bad step parameters at run time, a bug): verdict ERROR. */
export class HarnessError extends Error {
  readonly code = 'ERR_SUITE_HARNESS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

/** The SUT adapter could not trigger a procedure (control API down, command failed, prompt declined). */
export class TriggerError extends Error {
  readonly code = 'ERR_SUITE_TRIGGER';
  constructor(readonly action: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`trigger '${action}' failed: ${reason}`, options);
    this.name = 'TriggerError';
  }
}

/** The fault matrix found a fault no case catches, or a case that fails against the fault-free reference. */
export class FaultMatrixError extends Error {
  readonly code = 'ERR_FAULT_MATRIX';
  constructor(message: string) {
    super(message);
    this.name = 'FaultMatrixError';
  }
}
