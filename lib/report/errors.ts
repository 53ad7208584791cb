// Errors of the report layer: one class per failure, each with a stable `code`
// so that the CLI and CI scripts can tell them apart without parsing messages.

export class ReportError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A CaseResult JSON file that cannot be read back (bad JSON, missing fields). */
export class CaseResultFileError extends ReportError {
  readonly file: string;
  constructor(file: string, reason: string) {
    super('ERR_REPORT_CASE_RESULT', `${file}: ${reason}`);
    this.file = file;
  }
}

/** An external report generator (Allure 3, Allure 2 / Java, playwright merge-reports) failed. */
export class ReportGeneratorError extends ReportError {
  readonly tool: string;
  readonly exitCode: number | null;
  readonly output: string;
  constructor(tool: string, exitCode: number | null, output: string) {
    super('ERR_REPORT_GENERATOR', `${tool} exited with ${exitCode ?? 'a signal'}${output ? `: ${output.trim().split('\n').slice(-5).join(' | ')}` : ''}`);
    this.tool = tool;
    this.exitCode = exitCode;
    this.output = output;
  }
}

/** An unknown quality gate name was asked for. */
export class QualityGateError extends ReportError {
  constructor(gate: string) {
    super('ERR_REPORT_GATE', `unknown quality gate '${gate}' (known: mandatory-pass, no-fail, all-pass, none)`);
  }
}

/** A markup element or attribute name that is not a plain XML name. */
export class MarkupNameError extends ReportError {
  constructor(name: string) {
    super('ERR_REPORT_MARKUP', `not a valid element or attribute name: ${JSON.stringify(name)}`);
  }
}

/** A merge was asked to write into one of its own sources. */
export class MergeTargetError extends ReportError {
  constructor(dir: string) {
    super('ERR_REPORT_MERGE_TARGET', `cannot merge into ${dir}: it is one of the sources (choose another --out)`);
  }
}
