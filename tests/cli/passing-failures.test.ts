import { CliError, ExitCodes } from '../../src/cli/cli-errors';
import { passingFailure } from '../../src/cli/reconnect';
import { SiftRequestError } from '../../src/client/sift-client';

const refusal = (code: string, retryAfterSeconds?: number) => new SiftRequestError([{ message: code, extensions: { code, reason: code, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) } }]);

describe('what sift batch and sift watch wait out, and for how long', () => {
  it('waits out a rate limit or Redis away for as long as the server asks', () => {
    expect(passingFailure(refusal('RATE_LIMITED', 3))).toMatchObject({ connection: false, retryAfterMs: 3000 });
    expect(passingFailure(refusal('REDIS_UNAVAILABLE', 2))).toMatchObject({ connection: false, retryAfterMs: 2000 });
    expect(passingFailure(new CliError('slow down', ExitCodes.BAD_INPUT, 'RATE_LIMITED'))).toMatchObject({ connection: false, retryAfterMs: 2000 });
  });

  it('does not retry what trying again cannot fix', () => {
    for (const code of ['FORBIDDEN', 'UNAUTHENTICATED', 'UNKNOWN_BATCH', 'BAD_USER_INPUT']) expect(passingFailure(refusal(code))).toBeNull();
    expect(passingFailure(new Error('a bug'))).toBeNull();
  });
});
