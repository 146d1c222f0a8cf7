import { ErrorCodes } from '../../src/errors';
import { textProblem } from '../../src/predictions/text-rules';

describe('textProblem', () => {
  it.each(['', ' ', '\n\t  \r\n', '\u00a0\u2003'])('refuses empty or whitespace-only text %j', (text) => {
    expect(textProblem(text, 100)?.code).toBe(ErrorCodes.EMPTY_TEXT);
  });

  it('counts characters, not UTF-16 units: 10 emoji fit a limit of 10', () => {
    const emoji = '😀'.repeat(10);
    expect(emoji.length).toBe(20);
    expect(textProblem(emoji, 10)).toBeNull();
    expect(textProblem(emoji + 'x', 10)?.code).toBe(ErrorCodes.TEXT_TOO_LONG);
  });

  it('accepts a text at the limit and refuses one above it, naming the limit', () => {
    expect(textProblem('a'.repeat(50), 50)).toBeNull();
    const problem = textProblem('a'.repeat(51), 50);
    expect(problem?.code).toBe(ErrorCodes.TEXT_TOO_LONG);
    expect(problem?.message).toContain('50');
  });

  it('accepts control characters and lone surrogates as text', () => {
    expect(textProblem('bad\u0000byte\u0007', 100)).toBeNull();
    expect(textProblem('half \ud800 a pair', 100)).toBeNull();
  });
});
