import { parseArgs } from 'node:util';
import { MmrunError } from './errors.ts';
import type { Command, CommandOption, OptionValues } from './commands/types.ts';

// Commands load lazily so that `mmrun validate` does not pay for TensorFlow.js start-up.
const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  validate: () => import('./commands/validate.ts'),
  plan: () => import('./commands/plan.ts'),
  run: () => import('./commands/run.ts'),
  worker: () => import('./commands/worker.ts'),
  status: () => import('./commands/status.ts'),
  cancel: () => import('./commands/cancel.ts'),
  'dataset build': () => import('./commands/dataset-build.ts'),
  'dataset show': () => import('./commands/dataset-show.ts'),
  sync: () => import('./commands/sync.ts'),
  ui: () => import('./commands/ui.ts'),
  compare: () => import('./commands/compare.ts'),
  report: () => import('./commands/report.ts'),
  predict: () => import('./commands/predict.ts'),
};

async function printHelp(): Promise<void> {
  const lines = ['mmrun — declarative multimodal experiment runner', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      const { command } = await load();
      lines.push(`  ${command.usage.padEnd(48)} ${command.summary}`);
    } catch (err) {
      lines.push(`  mmrun ${name.padEnd(42)} (unavailable: ${(err as Error).message.split('\n')[0]})`);
    }
  }
  lines.push('', 'Run `mmrun <command> --help` for its options.');
  console.log(lines.join('\n'));
}

function commandHelp(command: Command): string {
  const lines = [`Usage: ${command.usage}`, '', command.summary];
  const options = Object.entries(command.options ?? {});
  if (options.length) {
    lines.push('', 'Options:');
    for (const [name, o] of options) {
      const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}${o.short ? `, -${o.short}` : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${o.description}${o.default !== undefined ? ` (default: ${o.default})` : ''}`);
    }
  }
  return lines.join('\n');
}

/**
 * Checks every integer option at the boundary: `--max-runs abc`, `--jobs 0` or `--port 1e9` is an
 * error naming the option, never a limit silently turned off. Returns the values with numbers.
 */
export function parseIntegerOptions(options: Record<string, CommandOption>, values: OptionValues): OptionValues {
  const out: OptionValues = { ...values };
  for (const [name, o] of Object.entries(options)) {
    const raw = values[name];
    if (!o.integer || raw === undefined || typeof raw === 'boolean') continue;
    const { min, max } = o.integer;
    const text = String(raw).trim();
    const n = /^[+]?\d+$/.test(text) ? Number(text) : NaN;
    const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
      throw new MmrunError(`--${name} expects a whole number ${range}, got '${String(raw)}'.`);
    }
    out[name] = n;
  }
  return out;
}

function findCommand(argv: string[]): { key: string; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(' ');
  if (COMMANDS[two]) return { key: two, rest: argv.slice(2) };
  if (argv[0] && COMMANDS[argv[0]]) return { key: argv[0], rest: argv.slice(1) };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    await printHelp();
    return 0;
  }
  if (argv[0] === '--version') {
    const { version } = await import('./version.ts');
    console.log(version);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const known = Object.keys(COMMANDS).join(', ');
    console.error(`mmrun: unknown command '${argv.slice(0, 2).join(' ')}'. Commands: ${known}.`);
    return 1;
  }
  const { command } = await COMMANDS[found.key]();
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    console.log(commandHelp(command));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: found.rest, options: command.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`mmrun ${found.key}: ${(err as Error).message}\n\n${commandHelp(command)}`);
    return 1;
  }
  let values;
  try {
    values = parseIntegerOptions(command.options ?? {}, parsed.values);
  } catch (err) {
    console.error(`mmrun ${found.key}: ${(err as Error).message}`);
    return 1;
  }
  return command.run({ positionals: parsed.positionals, values });
}

const isEntry = process.argv[1] && /mmrun(\.js)?$|cli\.ts$/.test(process.argv[1]);
if (isEntry) {
  // `mmrun plan x.yaml | head` closes the pipe early: that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof MmrunError) {
        console.error(err.message + (err.hint ? `\n${err.hint}` : ''));
        process.exitCode = 1;
      } else {
        console.error('mmrun: internal error (please report it):');
        console.error(err);
        process.exitCode = 2;
      }
    },
  );
}
