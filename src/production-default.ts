/**
 * Imported first by every entry point: an unset NODE_ENV means production. graphql-js reads
 * NODE_ENV once, when it loads, and outside production it runs a costly cross-realm check on
 * every type test (about 9% of the API's CPU under load). Sift's own config already treats an
 * unset NODE_ENV as production; this makes the libraries agree. NODE_ENV=development still works.
 */
process.env.NODE_ENV ??= 'production';
