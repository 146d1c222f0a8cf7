/**
 * `npm run schema`: writes the code-first schema as SDL to schema/schema.graphql, the file client
 * code generation reads and a test compares with the contract.
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildSiftSchema, printSiftSchema } from './schema';

export const SCHEMA_FILE = path.resolve(__dirname, '../../../schema/schema.graphql');

async function main(): Promise<void> {
  await writeFile(SCHEMA_FILE, printSiftSchema(await buildSiftSchema()));
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}
