import { Command, InvalidArgumentError, Option } from 'commander';
import { BATCH_PRIORITIES, priorityNamed } from '../batches/batch-priority';
import { apiKeyFrom, redactKeys } from './api-key';
import { CliError, ExitCodes, type ExitCode } from './cli-errors';
import { batchCommand, cancelCommand, resultsCommand, statusCommand, watchCommand, type BatchOptions, type Terminal } from './commands/batch-commands';
import { modelsCommand, predictCommand } from './commands/predict-commands';
import { RECONNECT_DEFAULTS, type ReconnectOptions } from './reconnect';
import { DEFAULT_URL, ServerConnection } from './server-connection';

// Key and process commands are loaded when run: they bring Redis, the configuration and ONNX Runtime,
// which the commands that talk to a server (`sift batch` and the rest) never use, and which took
// most of a `sift batch`'s start.
// (require, not import(): this compiles to CommonJS, and Jest runs it in-process without ES modules.)
const keyCommands = (): typeof import('./commands/key-commands.js') => require('./commands/key-commands');
const processCommands = (): typeof import('./commands/process-commands.js') => require('./commands/process-commands');

/**
 * An option's whole number from `min` to `max`, refused in the option's own words: before, an
 * out-of-range --workers was refused later as SIFT_WORKERS, a variable the user never set, and
 * --concurrency said "0 or more", then "1 or more" for 0.
 */
function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isInteger(number) || number < min || number > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return number;
  };
}

/** --priority in any case, as the server names it (HIGH, NORMAL, LOW). */
function priorityArgument(value: string): string {
  const priority = priorityNamed(value);
  if (priority === null) throw new InvalidArgumentError(`Allowed choices are ${PRIORITY_CHOICES.join(', ')}.`);
  return priority;
}

const PRIORITY_CHOICES = BATCH_PRIORITIES.map((priority) => priority.toLowerCase());

/** The options of every command that talks to a server. */
interface ServerOptions {
  url: string;
  /** --api-key, else SIFT_API_KEY (commander reads both). */
  apiKey?: string;
}

const EXIT_CODES = `
Exit codes: 0 done (a batch that completed, failed rows included); 1 the batch ended FAILED or
CANCELLED, or up/serve/worker could not start; 2 bad usage or input; 3 no Sift server answered;
4 the server failed the request; 130 interrupted (a batch left running). npx and npm exec run
sift through sh; where sh is dash (Debian, Ubuntu), npx exits 130 after a Ctrl-C whatever sift's
code: run node_modules/.bin/sift (or npx --script-shell=bash sift) when the code matters.

The server: --url or SIFT_URL, its root (http://localhost:4000) or its /graphql URL, with http://
or https://. batch and watch ride out a server that restarts or a dropped connection: they
reconnect and carry on, and exit 3 only after SIFT_RECONNECT_SECONDS (default 120) without
reaching it. A server that needs API keys (SIFT_AUTH=keys) takes one with --api-key or
SIFT_API_KEY (--api-key wins); an operator makes one with sift keys create. A missing or refused
key, or one without the scope the command needs, exits 2. The full reference: docs/cli.md.`;

const BATCH_HELP = `
Formats: each file's name says its format: .csv, .jsonl or .ndjson (JSON Lines), .json (an array
of objects). OUTPUT is written in the format its own name says, so a CSV input can give a JSON
Lines output and the other way round. --format says how to read INPUT when its name does not say
(or says wrongly, e.g. JSON Lines saved as .json), and how to write OUTPUT only when OUTPUT's name
says nothing. Both are checked before anything is uploaded.

Several text columns (--text-columns title,body): in each row, the non-blank cells of those
columns, in that order, joined with a line break, are the one text labelled, so every row still
gets one prediction (tokenizers read the line break as a space). A blank cell is left out (a row
without a title is labelled by its body alone); a row whose cells are all blank fails alone, like
an empty text. A CSV header must have every column named: sift lists the missing ones before
uploading. Not together with --text-column.

--json: one JSON object on stdout when the command ends: {"id", "status", "model", "total",
"succeeded", "failed", "cached", "error", "output", "seconds"} ("output" is null when nothing was
written: --no-wait, or left running after Ctrl-C). The progress stays on stderr.

Exit codes: 0 completed (failed rows included); 1 the batch ended FAILED or CANCELLED; 2 bad
usage or input; 3 no Sift server answered; 4 the server failed the request; 130 interrupted, the
batch left running (see sift --help about npx).`;

/**
 * The `sift` command tree. Each action resolves with an exit code (long-running commands, like
 * `sift up`, resolve with null and keep the process alive). `reconnect`: how long commands that
 * follow a batch wait for a server that went away (sift.ts reads SIFT_RECONNECT_SECONDS).
 */
export function buildProgram(terminal: Terminal, done: (code: ExitCode | null) => void, reconnect: Readonly<ReconnectOptions> = RECONNECT_DEFAULTS): Command {
  const program = new Command('sift')
    .description('Label text with machine-learning models at scale: batches, predictions and the Sift server.')
    .addHelpText('after', EXIT_CODES)
    .showHelpAfterError('(sift --help lists the commands; sift COMMAND --help explains one)')
    // A mistyped option is quoted whole (--apikey=sift_...): never print a key.
    .configureOutput({ writeOut: (s) => terminal.stdout.write(s), writeErr: (s) => terminal.stderr.write(redactKeys(s)) })
    .exitOverride();

  // Runs a command that needs no server.
  const run = async (command: () => Promise<ExitCode>) => done(await command());
  const urlOption = () => new Option('--url <url>', 'the Sift server: its root or its /graphql URL').env('SIFT_URL').default(DEFAULT_URL);
  const apiKeyOption = () => new Option('--api-key <key>', 'an API key, for a server that needs one (an operator makes one with sift keys create)').env('SIFT_API_KEY');
  // Runs a command against the server (--url, --api-key), closing the connection afterwards.
  const withServer = (run: (server: ServerConnection) => Promise<ExitCode>) => async (options: ServerOptions, command: Command) => {
    const server = new ServerConnection(options.url, reconnect, apiKeyFrom(options.apiKey, command.getOptionValueSource('apiKey')));
    try {
      done(await run(server));
    } finally {
      await server.close();
    }
  };

  program
    .command('batch')
    .description('Upload INPUT (CSV, JSON Lines or a JSON array) as a batch, show its progress live, then write OUTPUT: the input with label, score, score_<label>, cached and error added.')
    .argument('<input>', 'the file to label: .csv, .jsonl/.ndjson or .json (an array of objects)')
    .argument('[output]', 'where to write the results, in the format its own name says (.csv, .jsonl/.ndjson or .json); not needed with --no-wait')
    .option('--text-column <name>', 'column (or JSON field) holding the text (default: "text")')
    .option('--text-columns <names>', 'several columns (or JSON fields), comma-separated, labelled together as one text (see below)')
    .option('--id-column <name>', 'column (or JSON field) reported back as each row\'s id')
    .option('--model <name>', 'model to use (default: the server\'s default model)')
    .addOption(new Option('--priority <priority>', 'HIGH chunks run before NORMAL ones (HIGH takes a key with the priority scope), LOW after (still with a tenth of the workers)').choices(PRIORITY_CHOICES).argParser(priorityArgument))
    .addOption(new Option('--format <format>', 'how to read INPUT whatever its name says; how to write OUTPUT when its name says nothing').choices(['csv', 'jsonl', 'json']))
    .option('--no-wait', 'queue the batch, print its id and exit')
    .option('--json', 'print one JSON summary on stdout at the end (see below)')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .addHelpText('after', BATCH_HELP)
    .action((input: string, output: string | undefined, options: BatchOptions & ServerOptions, command: Command) =>
      withServer((server) => batchCommand(server, input, output, options, terminal))(options, command),
    );

  program
    .command('status')
    .description('Show the status and counts of a batch.')
    .argument('<id>', 'the batch id')
    .option('--json', 'print the batch as JSON')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action((id: string, options: { json?: boolean } & ServerOptions, command: Command) => withServer((server) => statusCommand(server, id, Boolean(options.json), terminal))(options, command));

  program
    .command('watch')
    .description('Show the live progress of a batch until it ends.')
    .argument('<id>', 'the batch id')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action((id: string, options: ServerOptions, command: Command) => withServer((server) => watchCommand(server, id, terminal))(options, command));

  program
    .command('results')
    .description('Download the rows of a batch finished so far to OUTPUT (.csv, .jsonl or .json).')
    .argument('<id>', 'the batch id')
    .argument('<output>', 'the file to write')
    .addOption(new Option('--format <format>', 'write this format whatever the extension says').choices(['csv', 'jsonl', 'json']))
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action((id: string, output: string, options: { format?: string } & ServerOptions, command: Command) => withServer((server) => resultsCommand(server, id, output, options.format, terminal))(options, command));

  program
    .command('cancel')
    .description('Cancel a batch: its queued chunks do not run; finished rows stay downloadable.')
    .argument('<id>', 'the batch id')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action((id: string, options: ServerOptions, command: Command) => withServer((server) => cancelCommand(server, id, terminal))(options, command));

  program
    .command('predict')
    .description('Label texts given as arguments, or one a line on stdin.')
    .argument('[texts...]', 'the texts to label')
    .option('--model <name>', 'model to use (default: the server\'s default model)')
    .option('--json', 'print one JSON prediction a line')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action((texts: string[], options: { model?: string; json?: boolean } & ServerOptions, command: Command) =>
      withServer((server) => predictCommand(server, texts, { model: options.model, json: Boolean(options.json) }, terminal))(options, command),
    );

  program
    .command('models')
    .description('List the models the server serves.')
    .option('--json', 'print them as JSON')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action((options: { json?: boolean } & ServerOptions, command: Command) => withServer((server) => modelsCommand(server, Boolean(options.json), terminal))(options, command));

  program
    .command('up')
    .description('Run the API, N worker processes and, where none answers, a private Redis (what npm start runs). Settings come from the environment (see docs/configuration.md).')
    .option('--workers <n>', 'worker processes beside the API (default: SIFT_WORKERS, else 1)', wholeNumber('--workers', 0, 64))
    .action(async (options: { workers?: number }) => {
      await processCommands().upCommand(options.workers);
      done(null);
    });

  program
    .command('serve')
    .description('Run the API alone (workers run elsewhere: sift worker).')
    .action(async () => {
      await processCommands().serveCommand();
      done(null);
    });

  program
    .command('worker')
    .description('Run one worker process, taking batch chunks from the shared Redis until Ctrl-C or SIGTERM.')
    .option('--concurrency <n>', 'chunks at a time (default: SIFT_WORKER_CONCURRENCY, else 4)', wholeNumber('--concurrency', 1, 64))
    .action(async (options: { concurrency?: number }) => {
      await processCommands().workerCommand(options.concurrency);
      done(null);
    });

  const keys = program.command('keys').description('Make, list, change and revoke API keys (in Redis directly: REDIS_URL and SIFT_KEY_PREFIX as the server has them).');
  keys
    .command('create')
    .description('Make an API key and print it once (only its hash is stored).')
    .requiredOption('--name <name>', 'who or what uses it (shown in listings and logs)')
    .option('--scopes <scopes>', 'what it may do, comma separated: predict, batches, priority, admin (priority: HIGH batches; admin: every batch, metrics)', 'predict,batches')
    .option('--json', 'print the key and its record as JSON')
    .action((options: { name: string; scopes: string; json?: boolean }) =>
      run(async () => {
        const { createKeyCommand, parseScopes } = keyCommands();
        return createKeyCommand(options.name, parseScopes(options.scopes), Boolean(options.json), terminal);
      }),
    );
  keys
    .command('list')
    .description('List the API keys (never the keys themselves).')
    .option('--json', 'print them as JSON')
    .action((options: { json?: boolean }) => run(async () => keyCommands().listKeysCommand(Boolean(options.json), terminal)));
  keys
    .command('update')
    .description("Change what an API key may do, keeping the key (servers apply it within a few seconds).")
    .argument('<id>', 'the key id sift keys list shows')
    .requiredOption('--scopes <scopes>', 'what it may do from now on, comma separated: predict, batches, priority, admin')
    .action((id: string, options: { scopes: string }) =>
      run(async () => {
        const { updateKeyCommand, parseScopes } = keyCommands();
        return updateKeyCommand(id, parseScopes(options.scopes), terminal);
      }),
    );
  keys
    .command('revoke')
    .description('Revoke an API key for good (servers refuse it within a few seconds).')
    .argument('<id>', 'the key id sift keys list shows')
    .action((id: string) => run(async () => keyCommands().revokeKeyCommand(id, terminal)));

  program
    .command('train')
    .description('Retrain the bundled models from ../shared/datasets, or SIFT_DATASETS_DIR (what npm run train runs).')
    .argument('[names...]', 'only these models (sentiment, question-type)')
    .action(async (names: string[]) => {
      await processCommands().trainCommand(names);
      done(process.exitCode === undefined ? ExitCodes.OK : (Number(process.exitCode) as ExitCode));
    });

  program
    .command('eval')
    .description('Print the accuracy of the bundled models (what npm run eval runs).')
    .action(async () => {
      await processCommands().evalCommand();
      done(process.exitCode === undefined ? ExitCodes.OK : (Number(process.exitCode) as ExitCode));
    });

  return program;
}
