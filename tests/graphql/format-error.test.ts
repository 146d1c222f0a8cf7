import { GraphQLError } from 'graphql';
import { ErrorCodes, SiftError, userError } from '../../src/errors';
import { formatGraphQLError } from '../../src/graphql/format-error';

// What a resolver's thrown error looks like by the time a formatter sees it.
function fromResolver(original: Error): GraphQLError {
  return new GraphQLError(original.message, { originalError: original, path: ['predict'] });
}

describe('formatGraphQLError', () => {
  it('hides an internal error\'s message and stack trace outside development', () => {
    const error = fromResolver(new Error('ECONNRESET at /srv/sift/src/secret.ts:12'));
    const formatted = formatGraphQLError({ ...error.toJSON(), extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at secret'] } }, error, false);
    expect(formatted).toEqual({ message: 'Internal server error', path: ['predict'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('hides an internal error that reached it without a code (the WebSocket path)', () => {
    const error = fromResolver(new TypeError('cannot read properties of undefined'));
    expect(formatGraphQLError(error.toJSON(), error, false).message).toBe('Internal server error');
  });

  it('shows it in development', () => {
    const error = fromResolver(new Error('details for the developer'));
    expect(formatGraphQLError(error.toJSON(), error, true).message).toBe('details for the developer');
  });

  it('keeps a user error\'s message and gives BAD_USER_INPUT with the precise reason', () => {
    const error = fromResolver(userError(ErrorCodes.TEXT_TOO_LONG, 'too long: shorten it', { index: 3 }));
    expect(formatGraphQLError(error.toJSON(), error, false)).toMatchObject({
      message: 'too long: shorten it',
      extensions: { code: 'BAD_USER_INPUT', reason: 'TEXT_TOO_LONG', index: 3 },
    });
  });

  it('keeps a Sift error that is not the caller\'s under its own code', () => {
    const error = fromResolver(new SiftError(ErrorCodes.BAD_MODEL, 'a model file broke', false));
    expect(formatGraphQLError(error.toJSON(), error, false).extensions).toMatchObject({ code: 'BAD_MODEL' });
  });

  it('keeps graphql-js validation errors as they are', () => {
    const error = new GraphQLError('Cannot query field "nope" on type "Query".');
    expect(formatGraphQLError(error.toJSON(), error, false).message).toBe('Cannot query field "nope" on type "Query".');
  });
});
