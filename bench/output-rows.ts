import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

/**
 * Reads a labelled CSV (Sift's OUT, the peer's output) and counts the rows that carry a label and
 * no error; with `idColumn`, checks that row i is the input's `r<i>` (the bench file's ids), i.e.
 * results in input order, and throws on a row out of order.
 */
export async function labelledRowsOf(file: string, idColumn: string | null, labelColumn: string, errorColumn: string | null): Promise<number> {
  const parser = createReadStream(file).pipe(parse({ columns: true }));
  let index = 0;
  let labelled = 0;
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    if (idColumn !== null && row[idColumn] !== `r${index}`) throw new Error(`${file}: row ${index} has id ${JSON.stringify(row[idColumn])}, not r${index}`);
    if (row[labelColumn] && (errorColumn === null || !row[errorColumn])) labelled++;
    index++;
  }
  return labelled;
}
