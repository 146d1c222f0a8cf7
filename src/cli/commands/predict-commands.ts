import { ModelsDocument, PredictManyDocument } from '../../client/generated/graphql';
import { CliError, ExitCodes, type ExitCode } from '../cli-errors';
import type { ServerConnection } from '../server-connection';
import type { Terminal } from './batch-commands';

async function stdinLines(stdin: NodeJS.ReadStream): Promise<string[]> {
  let text = '';
  for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

/** `sift predict TEXT...` (or one text a line on stdin): label and score of each, or JSON Lines. */
export async function predictCommand(server: ServerConnection, texts: string[], options: { model?: string; json: boolean }, terminal: Terminal): Promise<ExitCode> {
  const all = texts.length > 0 ? texts : terminal.stdin.isTTY ? [] : await stdinLines(terminal.stdin);
  if (all.length === 0) throw new CliError('Give texts to label as arguments (sift predict "a fine film"), or one a line on stdin.', ExitCodes.BAD_INPUT, 'NO_TEXT');
  // In slices the server's default predictMany limit (1000) always takes.
  for (let start = 0; start < all.length; start += 500) {
    const slice = all.slice(start, start + 500);
    const { predictMany } = await server.call((client) => client.request(PredictManyDocument, { texts: slice, model: options.model ?? null }));
    let out = '';
    for (const prediction of predictMany) {
      out += options.json ? `${JSON.stringify(prediction)}\n` : `${prediction.label}\t${prediction.score.toFixed(4)}${prediction.cached ? '\tcached' : ''}\t${prediction.text}\n`;
    }
    terminal.stdout.write(out);
  }
  return ExitCodes.OK;
}

/** `sift models`. */
export async function modelsCommand(server: ServerConnection, json: boolean, terminal: Terminal): Promise<ExitCode> {
  const { models } = await server.call((client) => client.request(ModelsDocument, {}));
  if (json) {
    terminal.stdout.write(`${JSON.stringify(models)}\n`);
    return ExitCodes.OK;
  }
  for (const model of models) {
    terminal.stdout.write(`${model.name}${model.isDefault ? ' (default)' : ''}  version ${model.version}  labels ${model.labels.join(', ')}  max ${model.maxTextLength} characters\n`);
  }
  return ExitCodes.OK;
}
