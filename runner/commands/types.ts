/** A CLI command. Parsing is done with node:util parseArgs from `options`. */
export interface Command {
  name: string; // e.g. "validate" or "dataset build"
  summary: string; // one line for `mmrun help`
  usage: string; // e.g. "mmrun validate <file...>"
  options?: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; description: string; default?: string | boolean }>;
  /** Returns the process exit code. */
  run(args: { positionals: string[]; values: Record<string, string | boolean | string[] | boolean[] | undefined> }): Promise<number>;
}
