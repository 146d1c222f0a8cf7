import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for this project's own operations (src/operations.graphql), checked against the
 * schema of a running Sift server (introspection is on): `npm run codegen` with the server up.
 */
// The server's root or its /graphql URL, as sift takes SIFT_URL.
const server = (process.env.SIFT_URL ?? 'http://localhost:4000').replace(/\/+$/, '').replace(/\/graphql$/, '');
// A server run with SIFT_AUTH=keys answers introspection only with a key (and only with SIFT_INTROSPECTION=on off loopback).
const apiKey = process.env.SIFT_API_KEY;

const config: CodegenConfig = {
  schema: [{ [`${server}/graphql`]: { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} } }],
  documents: ['src/operations.graphql'],
  generates: {
    'src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTimeISO: 'string' } },
    },
  },
};

export default config;
