import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

/** A labelled text collection read from one CSV file, rows in file order. */
export interface LabeledTexts {
  texts: string[];
  labels: string[];
}

/** Thrown when a dataset file is missing, with the path and what to do about it. */
export class MissingDatasetError extends Error {
  constructor(readonly file: string) {
    super(
      `Dataset file not found: ${file}\n` +
        'The training data is not part of the project. Put the datasets folder (sst2/, trec/) at ' +
        '../shared/datasets next to the project, or point SIFT_DATASETS_DIR at it, e.g.\n' +
        '  SIFT_DATASETS_DIR=/path/to/datasets npm run train',
    );
    this.name = 'MissingDatasetError';
  }
}

/**
 * Reads a UTF-8 CSV with a `text,label` header from `datasetsDir/relativePath`.
 * @throws MissingDatasetError when the file does not exist; Error when a row lacks text or label.
 */
export function readLabeledCsv(datasetsDir: string, relativePath: string): LabeledTexts {
  const file = path.resolve(datasetsDir, relativePath);
  if (!fs.existsSync(file)) throw new MissingDatasetError(file);
  const records = parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<
    string,
    string | undefined
  >[];
  const texts: string[] = [];
  const labels: string[] = [];
  records.forEach((record, index) => {
    const { text, label } = record;
    // Row numbers in messages count the header as line 1, as an editor shows them.
    if (text === undefined || !label) throw new Error(`${file}: row ${index + 2} needs "text" and "label" columns`);
    texts.push(text);
    labels.push(label);
  });
  return { texts, labels };
}

/** The distinct labels of a collection, sorted, so class indices do not depend on row order. */
export function sortedLabels(labels: readonly string[]): string[] {
  return [...new Set(labels)].sort();
}
