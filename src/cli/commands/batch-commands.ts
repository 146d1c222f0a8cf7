import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline/promises';
import { unknownBatch } from '../../batches/batch-types';
import { chosenTextColumns, columnList } from '../../batches/row-sources';
import { BatchDocument, CancelBatchDocument, type BatchFieldsFragment } from '../../client/generated/graphql';
import { isSiftError } from '../../errors';
import { CliError, ExitCodes, type ExitCode } from '../cli-errors';
import { count } from '../counts';
import { batchFormats, formatOf, openInput, uploadBody, type FileFormat, type InputFile } from '../input-files';
import { ProgressDisplay, progressWords } from '../progress-display';
import { gaveUp, progressSnapshots } from '../progress-follower';
import { asSentence, passingFailure, patience, Reconnection } from '../reconnect';
import { checkOutputWritable, resultRows, ResultsInterrupted, writeMerged, writeResults, writtenInPlace, type MergedOutput } from '../result-files';
import type { ServerConnection } from '../server-connection';

export interface BatchOptions {
  /** The column holding the text ("text" when neither this nor textColumns is given). */
  textColumn?: string;
  /** Several columns, comma-separated, whose non-blank cells the server joins into the text. */
  textColumns?: string;
  idColumn?: string;
  model?: string;
  /** HIGH, NORMAL or LOW (upper-cased by the option's parser); the server's NORMAL when absent. */
  priority?: string;
  format?: string;
  wait: boolean;
  /** Print one JSON summary on stdout instead of the sentence. */
  json?: boolean;
}

/** Where a command writes: progress and questions to stderr, results and summaries to stdout. */
export interface Terminal {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

async function ask(terminal: Terminal, question: string, signal?: AbortSignal): Promise<string> {
  const rl = createInterface({ input: terminal.stdin, output: terminal.stderr });
  try {
    return await rl.question(question, { signal });
  } finally {
    rl.close();
  }
}

/** How following a batch ended: at its final status, or left running after Ctrl-C. */
interface Followed {
  /** The latest snapshot. */
  batch: BatchFieldsFragment;
  left: boolean;
}

/**
 * Follows a batch's progress (the counts-only `batchProgress` subscription, through dropped
 * connections: see progress-follower.ts) with a progress display until it ends, and returns its
 * final snapshot. Ctrl-C asks (on a terminal) whether to cancel the batch or leave it running;
 * without a terminal it leaves it running, and returns the latest snapshot as `left`.
 * `reached`: the command already reached the server (so a server that goes away is waited for).
 */
async function follow(server: ServerConnection, id: string, terminal: Terminal, banner = '', reached = false): Promise<Followed> {
  const display = new ProgressDisplay(terminal.stderr);
  let asking = false;
  // The open question, withdrawn when the batch ends before it is answered.
  const open: { question: AbortController | null } = { question: null };
  let leave: (() => void) | null = null;
  const left = new Promise<null>((resolve) => (leave = () => resolve(null)));
  const onInterrupt = async () => {
    if (asking) return;
    asking = true;
    display.clear();
    let answer = 'n';
    if (terminal.stdin.isTTY) {
      open.question = new AbortController();
      const given = await ask(terminal, `Cancel batch ${id}? [y/N] (no leaves it running) `, open.question.signal).catch(() => null);
      open.question = null;
      if (given === null) return; // withdrawn: the batch ended meanwhile (said below)
      answer = given;
    }
    if (/^y(es)?$/i.test(answer.trim())) {
      await server.call((client) => client.request(CancelBatchDocument, { id }));
      asking = false; // the subscription's next event is the CANCELLED one
      return;
    }
    terminal.stderr.write(`Left batch ${id} running. Follow it with \`sift watch ${id}\`, fetch it with \`sift results ${id} OUTPUT\`.\n`);
    leave!();
  };
  const listener = () => void onInterrupt().catch((error: Error) => terminal.stderr.write(`${error.message}\n`));
  process.on('SIGINT', listener);
  // Only now: a Ctrl-C from here on asks rather than kills.
  terminal.stderr.write(banner);
  const say = (words: string) => {
    display.clear();
    terminal.stderr.write(`${words}\n`);
  };
  const events = progressSnapshots(server, id, { lost: say, back: say }, reached);
  const waiting = setTimeout(
    () => say(`Batch ${id} has waited ${QUEUED_HINT_MS / 1000} s with no row done: is a worker running? \`sift up\` starts one, \`sift worker\` runs one on its own (batches of other keys or of a higher priority may also be ahead of it).`),
    QUEUED_HINT_MS,
  );
  waiting.unref();
  try {
    let latest: BatchFieldsFragment | null = null;
    for (;;) {
      const next = await Promise.race([events.next().catch((error: unknown) => Promise.reject(latest || reached ? goneIfUnknown(error, id) : error)), left]);
      if (next === null) return { batch: latest ?? (await batchOrFail(server, id)), left: true };
      if (next.done) break;
      latest = next.value;
      if (latest.status !== 'QUEUED' || latest.processed > 0) clearTimeout(waiting);
      if (!asking) display.update(latest);
    }
    if (open.question) {
      // It ended while the user was asked whether to cancel it: the question is moot. Before, the
      // command exited under the open question, and the answer typed went to the shell.
      open.question.abort();
      terminal.stderr.write(`\nBatch ${id} ended ${latest?.status ?? ''} meanwhile: nothing to cancel.\n`);
    }
    display.finish();
    if (!latest) throw new CliError(`The server ended the progress of batch ${id} without an event.`, ExitCodes.SERVER_ERROR);
    return { batch: latest, left: false };
  } finally {
    clearTimeout(waiting);
    process.off('SIGINT', listener);
  }
}

/**
 * UNKNOWN_BATCH for a batch that was there (its events followed, or just uploaded): it is gone from
 * the server, not mistyped, so it is not the caller's mistake (exit 2) nor "expired" (batches are
 * kept for days): its Redis lost its data, or the batch was removed.
 */
function goneIfUnknown(error: unknown, id: string): unknown {
  if (!(error instanceof CliError) || error.code !== 'UNKNOWN_BATCH') return error;
  return new CliError(
    `Batch ${id} is gone from the server while it was followed: its Redis lost its data (a restart without persistence, or emptied) or the batch was removed, and its rows with it. Submit its input again.`,
    ExitCodes.SERVER_ERROR,
    'BATCH_GONE',
  );
}

/**
 * How long a followed batch may sit QUEUED with nothing done before the command says why that may
 * be: with no worker running it waits for ever, and looked hung (an operator review: `sift up`
 * with SIFT_WORKERS=0, as compose runs the API).
 */
export const QUEUED_HINT_MS = 20_000;

/** Downloads that break off mid-answer tried again from scratch, at most this many times in all. */
const DOWNLOAD_ATTEMPTS = 5;

/** How a batch ended, as following its progress told; resolved by the command once it knows. */
class BatchEnd {
  batch: BatchFieldsFragment | null = null;
  readonly known: Promise<BatchFieldsFragment>;
  private tell!: (batch: BatchFieldsFragment) => void;

  constructor() {
    this.known = new Promise((resolve) => (this.tell = resolve));
  }

  reached(batch: BatchFieldsFragment): void {
    this.batch = batch;
    this.tell(batch);
  }
}

/**
 * Writes OUTPUT from the input and the batch's results download while the batch runs: the
 * download follows the batch (the server sends rows as they finish, until it ends), so merging
 * and writing overlap the labelling instead of coming after it. Then checks it against how the
 * batch ended, and writes it again from scratch when the download failed on the way: nothing
 * answering, or Redis away (waited for with the reconnect backoff and bound, as the progress
 * is), or a body that breaks off or comes short of a completed batch's rows (at most
 * DOWNLOAD_ATTEMPTS times). `signal` gives the output up (the command leaves the batch running).
 */
async function writeOutput(server: ServerConnection, input: InputFile, id: string, uploadedRows: number, end: BatchEnd, outputPath: string, format: FileFormat, terminal: Terminal, signal: AbortSignal): Promise<MergedOutput> {
  const reconnection = new Reconnection(server.reconnect);
  let interrupted = 0;
  // An OUTPUT written in place (a pipe, a device) cannot be written again from the start, which a
  // download that breaks off mid-batch (an API restart) would take: it waits for the batch's end.
  if (writtenInPlace(outputPath)) await Promise.race([end.known, once(signal, 'abort').then(() => signal.throwIfAborted())]);
  for (;;) {
    let error: unknown;
    // A download after the batch ended has every row at once; one before follows it to its end.
    const follow = end.batch === null;
    try {
      // The input's own id and text are in INPUT already: the download leaves them out.
      const written = await writeMerged(input, (download) => server.results(id, false, download, { follow, signal }), outputPath, format, uploadedRows);
      const batch = await end.known;
      if (batch.status !== 'COMPLETED' || written.withResults === batch.total) {
        if (reconnection.reached()) terminal.stderr.write(`Downloaded the results of batch ${batch.id} again.\n`);
        return written;
      }
      error = new ResultsInterrupted(`the download of the results held ${count(written.withResults)} of the batch's ${count(batch.total)} rows`);
    } catch (caught) {
      if (signal.aborted) throw caught;
      error = caught;
    }
    const failure = error instanceof ResultsInterrupted ? { retryAfterMs: 0, detail: error.message } : passingFailure(error);
    if (!failure) throw server.failure(error);
    if (error instanceof ResultsInterrupted && ++interrupted >= DOWNLOAD_ATTEMPTS) {
      throw new CliError(`Could not download the results of batch ${id}: ${error.message}, ${DOWNLOAD_ATTEMPTS} times. Fetch them with \`sift results ${id} OUTPUT\`.`, ExitCodes.SERVER_ERROR, 'DOWNLOAD_FAILED');
    }
    const what = error instanceof ResultsInterrupted ? `T${error.message.slice(1)}` : `The download of the results failed (${failure.detail})`;
    if (!reconnection.lost) terminal.stderr.write(`${what}; downloading them again from the start.\n`);
    if (!(await reconnection.wait(failure.retryAfterMs))) throw gaveUp(server, id, true);
  }
}

function summary(batch: BatchFieldsFragment): string {
  const words = `${count(batch.succeeded)}/${count(batch.total)} succeeded, ${count(batch.cached)} from cache, ${count(batch.failed)} failed`;
  return batch.status === 'COMPLETED' ? words : `Batch ${batch.id} ended ${batch.status}${batch.error ? `: ${batch.error}` : ''} (${words})`;
}

function exitCodeOf(batch: BatchFieldsFragment): ExitCode {
  return batch.status === 'COMPLETED' ? ExitCodes.OK : ExitCodes.BATCH_NOT_COMPLETED;
}

/** What `sift batch --json` prints: one object, on stdout, when the command ends. */
export interface BatchSummary {
  id: string;
  status: string;
  model: string;
  /** HIGH, NORMAL or LOW. */
  priority: string;
  total: number;
  succeeded: number;
  failed: number;
  cached: number;
  /** Why the whole batch failed; null otherwise. */
  error: string | null;
  /** OUTPUT as given; null when nothing was written (--no-wait, or left running after Ctrl-C). */
  output: string | null;
  /** Seconds the command took, upload and download included. */
  seconds: number;
}

function jsonSummary(batch: BatchFieldsFragment, output: string | null, startedAt: number): string {
  const summary: BatchSummary = {
    id: batch.id,
    status: batch.status,
    model: batch.model,
    priority: batch.priority,
    total: batch.total,
    succeeded: batch.succeeded,
    failed: batch.failed,
    cached: batch.cached,
    error: batch.error,
    output,
    seconds: Math.round(Date.now() - startedAt) / 1000,
  };
  return `${JSON.stringify(summary)}\n`;
}

/** The text column(s) `sift batch` names, checked as the server checks them. */
function textColumnsOf(options: BatchOptions): string[] {
  try {
    return chosenTextColumns(
      { textColumn: options.textColumn, textColumns: options.textColumns === undefined ? null : columnList(options.textColumns) },
      { one: '--text-column', many: '--text-columns' },
    );
  } catch (error) {
    if (isSiftError(error)) throw new CliError(error.message, ExitCodes.BAD_INPUT, 'BAD_OPTION');
    throw error;
  }
}

/**
 * `sift batch INPUT OUTPUT`: upload, follow, then write OUTPUT (in its own name's format) with the
 * input's columns and the results. Everything is checked (options, both formats, the input's
 * header) before anything is uploaded.
 */
export async function batchCommand(server: ServerConnection, inputPath: string, outputPath: string | undefined, options: BatchOptions, terminal: Terminal): Promise<ExitCode> {
  const startedAt = Date.now();
  if (options.wait && !outputPath) throw new CliError('Give an OUTPUT file to write the results to, or --no-wait to only queue the batch.', ExitCodes.BAD_INPUT, 'BAD_OPTION');
  const textColumns = textColumnsOf(options);
  const formats = batchFormats(inputPath, outputPath, options.format);
  const several = options.textColumns !== undefined;
  const textOption = several ? '--text-columns' : '--text-column';
  let input: InputFile;
  try {
    input = await openInput(inputPath, formats.input, { textColumns, idColumn: options.idColumn }, textOption);
  } catch (error) {
    // A file read as what --format says, against its name: say so, it is the likely mistake.
    if (error instanceof CliError && formats.contradicts && error.code !== 'NO_FILE') throw new CliError(`${error.message} (${formats.contradicts}.)`, error.exitCode, error.code);
    throw error;
  }
  if (options.wait) {
    checkOutputHolds(input, inputPath, formats.output!);
    await checkOutputWritable(outputPath!);
  }
  const query: Record<string, string> = several ? { textColumns: textColumns.join(',') } : { textColumn: textColumns[0] };
  if (options.idColumn) query.idColumn = options.idColumn;
  if (options.model) query.model = options.model;
  if (options.priority) query.priority = options.priority;
  // One key for every try of this upload: a try whose 202 was lost (the connection broke as the
  // server answered) is answered, when sent again, with the batch it made, not run a second time.
  query.idempotencyKey = `sift-batch-${randomUUID()}`;
  // On a terminal, a word before a long upload (a large file, or one slowed to the key's rows a
  // minute): it printed nothing until the 202, minutes in a review.
  if (terminal.stderr.isTTY) terminal.stderr.write(`Uploading ${inputPath}...\n`);
  const submitted = await uploadRidingOut(server, input, query, terminal);
  if (!options.wait) {
    if (options.json) terminal.stdout.write(jsonSummary(await batchOrFail(server, submitted.id), null, startedAt));
    else terminal.stdout.write(`${submitted.id}\n`);
    terminal.stderr.write(`Queued ${count(submitted.total)} rows as batch ${submitted.id}. Check it with \`sift status ${submitted.id}\`; fetch the results with \`sift results ${submitted.id} OUTPUT\`.\n`);
    return ExitCodes.OK;
  }
  // OUTPUT is written while the batch runs, alongside the progress display.
  const end = new BatchEnd();
  const giveUp = new AbortController();
  const output = writeOutput(server, input, submitted.id, submitted.total, end, outputPath!, formats.output!, terminal, giveUp.signal);
  // Awaited once the batch ends; meanwhile a failure of it is not an unhandled rejection.
  output.catch(() => undefined);
  let followed: Followed;
  try {
    followed = await follow(server, submitted.id, terminal, `Batch ${submitted.id}: ${count(submitted.total)} rows queued\n`, true);
  } catch (error) {
    giveUp.abort();
    await output.catch(() => undefined);
    throw error;
  }
  const { batch, left } = followed;
  if (left) {
    // Left running: OUTPUT stays as it was (the partial file is removed).
    giveUp.abort();
    await output.catch(() => undefined);
    if (options.json) terminal.stdout.write(jsonSummary(batch, null, startedAt));
    return ExitCodes.INTERRUPTED;
  }
  end.reached(batch);
  let written: MergedOutput;
  try {
    written = await output;
  } catch (error) {
    // OUTPUT could be made, yet not written through (a full disk): the rows are on the server.
    if (error instanceof CliError && error.code === 'OUTPUT_FAILED') {
      throw new CliError(`${error.message} The batch ${batch.id} ended ${batch.status}; its results stay on the server: fetch them with \`sift results ${batch.id} OUTPUT\` to a place with room.`, error.exitCode, error.code);
    }
    throw error;
  }
  if (written.resultPrefix !== '') {
    const names = written.clashes.map((name) => JSON.stringify(name)).join(', ');
    terminal.stderr.write(`The input already has ${names}, so the result columns are named with the prefix ${written.resultPrefix} (${written.resultPrefix}label, ${written.resultPrefix}score, ...).\n`);
  }
  if (options.json) terminal.stdout.write(jsonSummary(batch, outputPath!, startedAt));
  else {
    const unlabelled = written.rows - written.withResults;
    const note = unlabelled > 0 ? ` (${count(unlabelled)} of them not labelled: their error says so)` : '';
    terminal.stdout.write(`${summary(batch)}; ${count(written.rows)} rows written to ${outputPath}${note}\n`);
  }
  return exitCodeOf(batch);
}

/**
 * Uploads INPUT, sending it again from its start when the upload fails in passing: the server
 * answered that it cannot take it now (Redis away, the server stopping: it took the upload back,
 * no batch was made), or the connection broke during the upload (the server restarting). Waits
 * as following a batch does (reconnect.ts), within the same bound. A server that refuses the
 * connection outright before anything was sent is said at once (exit 3), as it always was: no
 * server there to wait for. An upload whose 202 was lost with the connection is sent again too,
 * with the same idempotency key (`query`): the server answers it with the first try's batch
 * (FIRST_SUBMIT_PENDING, waited out as a passing failure, while that try has made none yet).
 */
async function uploadRidingOut(server: ServerConnection, input: InputFile, query: Record<string, string>, terminal: Terminal): Promise<{ id: string; status: string; total: number }> {
  const reconnection = new Reconnection(server.reconnect);
  for (let attempt = 1; ; attempt++) {
    const { body, contentType } = uploadBody(input);
    try {
      const submitted = await server.upload(body, contentType, query);
      if (reconnection.reached()) terminal.stderr.write(`Uploaded ${input.path} again to ${server.url}.\n`);
      return submitted;
    } catch (error) {
      body.destroy();
      const failure = passingFailure(error);
      if (!failure || (attempt === 1 && connectionRefused(error))) throw error;
      if (!reconnection.lost && server.reconnect.giveUpAfterMs > 0) {
        terminal.stderr.write(`The upload of ${input.path} failed in passing: ${asSentence(failure.detail)} Sending it again (for up to ${patience(server.reconnect)}).\n`);
      }
      if (!(await reconnection.wait(failure.retryAfterMs))) throw failure.connection ? error : stillRefused(error, server);
    }
  }
}

/**
 * A refusal that passes (the server's uploads at their limit, its rate, Redis away) still there
 * once SIFT_RECONNECT_SECONDS ran out: said as such, exit 3 as for a server out of reach, not
 * the caller's mistake (exit 2) its 4xx status would make it.
 */
function stillRefused(error: unknown, server: ServerConnection): unknown {
  if (!(error instanceof CliError)) return error;
  const tried = server.reconnect.giveUpAfterMs > 0 ? `sift sent it again for ${patience(server.reconnect)} (SIFT_RECONNECT_SECONDS) and gave up` : 'sift does not send it again with SIFT_RECONNECT_SECONDS=0';
  return new CliError(`${asSentence(error.message)} ${tried}; run the command again later.`, ExitCodes.UNREACHABLE, error.code, { cause: error });
}

/** Whether nothing listened where the server should be (ECONNREFUSED): no upload began. */
function connectionRefused(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) if ((cause as NodeJS.ErrnoException).code === 'ECONNREFUSED') return true;
  return false;
}

/**
 * Refuses, before anything is uploaded, a CSV header that names a column twice when OUTPUT is JSON
 * Lines or JSON: a record holds each name once, so one of the two columns would be lost without a
 * word (CSV OUTPUT keeps both, as INPUT has them).
 */
function checkOutputHolds(input: InputFile, inputPath: string, output: FileFormat): void {
  if (output === 'csv' || input.header === null) return;
  const twice = input.header.find((name, i) => input.header!.indexOf(name) !== i);
  if (twice === undefined) return;
  throw new CliError(
    `${inputPath}'s header names the column ${JSON.stringify(twice)} twice, and a ${output === 'json' ? 'JSON' : 'JSON Lines'} record holds each name once, so OUTPUT would lose one of them. Rename one of the columns, or write OUTPUT as CSV (a .csv name).`,
    ExitCodes.BAD_INPUT,
    'DUPLICATE_COLUMN',
  );
}

async function batchOrFail(server: ServerConnection, id: string): Promise<BatchFieldsFragment> {
  const { batch } = await server.call((client) => client.request(BatchDocument, { id }));
  if (!batch) throw new CliError(unknownBatch(id).message, ExitCodes.BAD_INPUT, 'UNKNOWN_BATCH');
  return batch;
}

/** `sift status ID`. */
export async function statusCommand(server: ServerConnection, id: string, json: boolean, terminal: Terminal): Promise<ExitCode> {
  const batch = await batchOrFail(server, id);
  if (json) {
    terminal.stdout.write(`${JSON.stringify(batch)}\n`);
  } else {
    terminal.stdout.write(`${batch.id}  ${batch.status}  model ${batch.model}${batch.priority === 'NORMAL' ? '' : `  priority ${batch.priority}`}\n${progressWords(batch)}\n${batch.error ? `error: ${batch.error}\n` : ''}`);
  }
  return ExitCodes.OK;
}

/** `sift watch ID`: the progress display on a batch that runs (or ended). */
export async function watchCommand(server: ServerConnection, id: string, terminal: Terminal): Promise<ExitCode> {
  const { batch, left } = await follow(server, id, terminal);
  if (left) return ExitCodes.INTERRUPTED;
  terminal.stdout.write(`${summary(batch)}\n`);
  return exitCodeOf(batch);
}

/** `sift cancel ID`. */
export async function cancelCommand(server: ServerConnection, id: string, terminal: Terminal): Promise<ExitCode> {
  const { cancelBatch } = await server.call((client) => client.request(CancelBatchDocument, { id }));
  terminal.stdout.write(`${cancelBatch.id}  ${cancelBatch.status}  ${progressWords(cancelBatch)}\n`);
  return ExitCodes.OK;
}

/** How long `sift results` gives its download to end after Ctrl-C or SIGTERM before it exits anyway. */
const SIGNAL_GRACE_MS = 2000;

/** `sift results ID OUTPUT`: the server's rows (finished so far) in OUTPUT's format. */
export async function resultsCommand(server: ServerConnection, id: string, outputPath: string, format: string | undefined, terminal: Terminal): Promise<ExitCode> {
  const outputFormat = formatOf(outputPath, format);
  const batch = await batchOrFail(server, id);
  const body = await server.results(id);
  // Ctrl-C or SIGTERM mid-download: the download is broken off, so writeResults removes its
  // partial file as for any failure (Node's default exit left it beside OUTPUT, tens of MB).
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    body.destroy(new Error(`stopped by ${signal}`));
    // A write that waits on OUTPUT (a pipe or FIFO nobody reads) never sees the download end, and
    // process.exit would wait for it too: the signal is sent again with no handler, so the command
    // ends by it at once, as it did before it handled signals.
    setTimeout(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.kill(process.pid, signal);
    }, SIGNAL_GRACE_MS).unref();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let rows: number;
  try {
    rows = await writeResults(resultRows(body), outputFormat, outputPath);
  } catch (error) {
    // OUTPUT is left as it was (see writeResults); the command can simply be run again.
    if (stoppedBy) throw new CliError(`Stopped (${stoppedBy}) during the download; ${outputPath} was left as it was.`, ExitCodes.INTERRUPTED, 'INTERRUPTED');
    if (error instanceof ResultsInterrupted) throw new CliError(`${error.message[0].toUpperCase()}${error.message.slice(1)}; ${outputPath} was not written. Run the command again.`, ExitCodes.SERVER_ERROR, 'DOWNLOAD_FAILED');
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  terminal.stdout.write(`${count(rows)} rows of batch ${id} (${batch.status}) written to ${outputPath}\n`);
  return ExitCodes.OK;
}
