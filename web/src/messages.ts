import { ApiError } from './api';
import { keyMessage } from './api-key';
import { count } from './format';

/** What the page knows about the request that failed, to word the answer in the user's terms. */
export interface MessageContext {
  /** For texts typed one a line: the textarea line number (1-based) of each text sent. */
  lines?: readonly number[];
  /** The model the request named. */
  model?: { name: string; maxTextLength: number };
}

const plainBytes = (bytes: number): string => {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) (value /= 1024), unit++;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
};

/**
 * The server's errors in the words of someone using the page. Sift's error codes and reasons are
 * stable (src/errors.ts), so the page maps them to sentences about what the user did (a line, a
 * file, a column) instead of the API's field names ("texts[2]", "textColumn"). A message that is
 * already plain (a malformed CSV line, an unknown model) is kept as the server wrote it.
 */
export function inWords(error: unknown, context: MessageContext = {}): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const { reason, details, message } = error;
  const index = typeof details.index === 'number' ? details.index : null;
  const line = index === null ? null : (context.lines?.[index] ?? index + 1);
  const where = line === null ? 'The text' : `Line ${line}`;
  switch (reason) {
    case 'EMPTY_TEXT':
      return `${where} is empty; type some words there, or remove it.`;
    case 'TEXT_TOO_LONG': {
      const max = context.model ? `${count(context.model.maxTextLength)} characters, the most the model ${context.model.name} reads` : "the model's limit";
      return `${where} is longer than ${max}. Shorten it or split it over several lines.`;
    }
    case 'BAD_LIST_SIZE': {
      const [, sent, limit] = /has (\d+) texts, more than the limit of (\d+)/.exec(message) ?? [];
      if (limit) return `That is ${count(Number(sent))} texts; the server labels at most ${count(Number(limit))} at once. Split them, or run them as a batch (Run a batch).`;
      return 'Type a text to label (one a line for several).';
    }
    case 'MISSING_COLUMN':
      return message.replace(/ Name the text column with \w+\.$/, ' Choose the column that holds the texts under "Text column".');
    case 'EMPTY_INPUT':
      return 'The file has no rows under its header; add at least one text.';
    case 'UPLOAD_TOO_LARGE': {
      const limit = /larger than (\d+) bytes/.exec(message)?.[1];
      return `The file is larger than ${limit ? plainBytes(Number(limit)) : 'the server accepts'}; split it into smaller files.`;
    }
    case 'ROW_TOO_LARGE': {
      const limit = typeof details.maxRowBytes === 'number' ? plainBytes(details.maxRowBytes) : 'the most the server takes';
      const row = typeof details.line === 'number' ? `Line ${details.line} of the file` : 'A line of the file';
      return `${row} is longer than ${limit}, the most one row may be. Check that the file has one row a line (a file without line breaks reads as one long row), or split that row.`;
    }
    case 'ID_TOO_LONG': {
      const row = typeof details.row === 'number' ? `Row ${count(details.row)} of the file` : 'A row of the file';
      const max = typeof details.maxIdLength === 'number' ? count(details.maxIdLength) : 'the most the server takes';
      return `${row} has an id longer than ${max} characters. Choose another "Id column" (or none), or shorten the ids.`;
    }
    case 'UPLOAD_IDLE_TIMEOUT':
      return 'The upload stalled (nothing reached the server for a while) and was stopped; no batch was made. Check your connection and run the batch again.';
    case 'TOO_MANY_UPLOADS':
      return 'The server is reading as many uploads as it takes at once (yours, or everyone\'s); run the batch again in a few seconds.';
    case 'RATE_LIMITED': {
      const seconds = /Try again in (\d+) s/.exec(message)?.[1];
      return `The server is busy with your earlier requests; try again${seconds ? ` in ${seconds} s` : ' in a moment'}.`;
    }
    case 'UNKNOWN_BATCH':
      return typeof details.id === 'string' ? `No batch with id ${details.id}.` : 'There is no batch with that id (or it has expired).';
    case 'UNAUTHENTICATED':
      return keyMessage(message);
    case 'FORBIDDEN':
      // The server names the scope the key lacks; another key is a click away.
      return `${message} To use another key, choose "Forget key" at the top of the page.`;
    case 'INTERNAL_SERVER_ERROR':
      return "Something went wrong on the server. Try again; if it keeps happening, the server's log says why.";
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'GRAPHQL_PARSE_FAILED':
      return 'This page does not match the server (was the server updated?). Reload the page.';
    default:
      // Anything else keeps the server's words, without an API field name in front ("texts[0]: ").
      return message.replace(/^[A-Za-z]+(\[\d+\])?: /, '');
  }
}
