/** An error the user can fix: printed as its message (no stack trace), exit code 1. */
export class MmrunError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MmrunError';
  }
}

/** One problem in an input file, located at file:line:col. */
export interface Problem {
  file: string;
  line: number; // 1-based; 0 when the problem has no position (e.g. a missing file)
  col: number; // 1-based
  message: string;
  excerpt?: string; // the source line with a caret under the column
}

/** Every problem found in an experiment file (and its parents), reported together. */
export class ConfigError extends MmrunError {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.excerpt ? `${where}: ${p.message}\n${p.excerpt}` : `${where}: ${p.message}`;
}
