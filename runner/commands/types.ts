/** A CLI command. Parsing is done with node:util parseArgs from `options`. */
export interface CommandOption {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  default?: string | boolean;
  /** A whole number in [min, max]: cli.ts refuses anything else and hands the command a number. */
  integer?: { min: number; max?: number };
}

/** An option's value as a command receives it: node:util parseArgs' value, integer options as numbers. */
export type OptionValue = string | number | boolean | (string | boolean)[] | undefined;
export type OptionValues = Record<string, OptionValue>;

export interface Command {
  name: string; // e.g. "validate" or "dataset build"
  summary: string; // one line for `mmrun help`
  usage: string; // e.g. "mmrun validate <file...>"
  options?: Record<string, CommandOption>;
  /** Returns the process exit code. Integer options arrive as numbers. */
  run(args: { positionals: string[]; values: OptionValues }): Promise<number>;
}

/** The `--max-runs` option every command that plans a sweep takes. */
export const MAX_RUNS_OPTION: CommandOption = { type: 'string', description: 'Largest sweep accepted (counted before it is expanded)', default: '10000', integer: { min: 1 } };
