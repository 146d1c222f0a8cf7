import { ErrorCodes, type ErrorCode } from '../errors';

/** Why a text cannot be labelled, in words that tell the user what to change. */
export interface TextProblem {
  code: ErrorCode;
  message: string;
}

/** Length in characters (code points), as a user counts them, counted no further than one past `stopAfter`. */
export function characterCount(text: string, stopAfter: number): number {
  let count = 0;
  for (const _ of text) if (++count > stopAfter) break;
  return count;
}

/**
 * The rules every text must meet before a model sees it, shared by online requests and batch rows.
 * Returns null when the text is fine.
 */
export function textProblem(text: string, maxTextLength: number): TextProblem | null {
  if (text.trim().length === 0) {
    return { code: ErrorCodes.EMPTY_TEXT, message: 'The text is empty or only whitespace; send some words to label.' };
  }
  // text.length counts UTF-16 units, never fewer than characters, so most texts skip the count.
  if (text.length > maxTextLength && characterCount(text, maxTextLength) > maxTextLength) {
    return {
      code: ErrorCodes.TEXT_TOO_LONG,
      message: `The text has more than ${maxTextLength} characters, this model's limit; shorten it or split it into several texts.`,
    };
  }
  return null;
}
