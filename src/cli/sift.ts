#!/usr/bin/env node
/**
 * The `sift` command line (`npx sift --help`). Errors it expects (bad input, no server, a refused
 * request) print one message and exit with their code; anything else prints its stack.
 */
import '../production-default';
import { CommanderError } from 'commander';
import { redactKeys } from './api-key';
import { CliError, ExitCodes } from './cli-errors';
import { buildProgram } from './program';
import { reconnectOptionsFrom } from './reconnect';

// A reader that stops early (`sift predict ... | head -1`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCodes.OK);
    throw error;
  });
}

async function main(): Promise<void> {
  let exit: number | null = ExitCodes.OK;
  try {
    const program = buildProgram({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }, (code) => (exit = code), reconnectOptionsFrom(process.env));
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage mistakes were already explained by commander.
      process.exit(error.exitCode === 0 ? 0 : ExitCodes.BAD_INPUT);
    }
    if (error instanceof CliError) {
      if (error.message) process.stderr.write(`sift: ${redactKeys(error.message)}\n`);
      process.exit(error.exitCode);
    }
    throw error;
  }
  // Long-running commands (up, serve, worker) keep the process alive and exit on a signal.
  if (exit !== null) process.exit(exit);
}

main().catch((error: Error) => {
  process.stderr.write(`sift: ${redactKeys(error.stack ?? error.message)}\n`);
  process.exit(ExitCodes.SERVER_ERROR);
});
