import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { fnv1a, HashedFeaturizer, hashedFeatures, type HashedNgramsOptions } from '../../src/models/tokenizers/hashed-ngrams';
import { wordTokens } from '../../src/models/tokenizers/words';
import { benchText } from '../../bench/texts';
import { SHARED_DIR } from '../support/paths';

/*
 * The bundled models were trained on these features, so the tokenizer's shortcuts (skipping
 * normalization of ASCII, hashing n-grams without building them) must change nothing. The
 * reference below is the plain definition: every step on every text, every n-gram as a string.
 */
const NEGATION = /(\p{L})n't\b/giu;
const CLITIC = /(\p{L})'(s|re|ve|ll|d|m)\b/giu;
const TOKEN = /n't|'(?:s|re|ve|ll|d|m)\b|[\p{L}\p{N}]+(?:[-.'][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;
const TYPOGRAPHIC = /[\u2018\u2019\u201A\u201B]/g;

function referenceTokens(text: string, lowercase: boolean, maxTokens: number): string[] {
  let normal = text.normalize('NFKC').replace(TYPOGRAPHIC, "'");
  if (lowercase) normal = normal.toLowerCase();
  normal = normal.replace(NEGATION, "$1 n't").replace(CLITIC, "$1 '$2");
  return [...normal.matchAll(TOKEN)].map((m) => m[0]).slice(0, maxTokens);
}

function referenceFeatures(text: string, options: HashedNgramsOptions): { ids: number[]; weights: number[] } {
  const tokens = referenceTokens(text, options.lowercase, options.maxTokens);
  const seen = new Set<number>();
  for (let n = 1; n <= options.maxNgram; n++) {
    for (let start = 0; start + n <= tokens.length; start++) seen.add(1 + (fnv1a(tokens.slice(start, start + n).join(' ')) % options.buckets));
  }
  const ids = [...seen];
  const weight = options.weighting === 'l2' && ids.length > 0 ? 1 / Math.sqrt(ids.length) : 1;
  return { ids, weights: ids.map(() => weight) };
}

function corpus(): string[] {
  const tricky = [
    '', '   ', 'a', "It's not bad, isn't it? I'd say we're fine; they'll see.", 'It’s the film’s best ‘moment’',
    'ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ①②', 'café naïve résumé', 'Ǆ ǅ ǆ ﬁ ﬂ', '日本語のテキスト', 'emoji ☺ 𝄞 👍🏽', 'lone \uD800 surrogate',
    'tabs\tand\nnewlines\r\n', 'hyphen-ated well.known co-op 3.14 1,000', 'DON\'T SHOUT', 'rock n\'roll', "o'clock 'quoted'",
    'word '.repeat(600), 'x'.repeat(2000),
    // Past maxTokens, a character that sends the text to the regular expressions all the same.
    `${'word '.repeat(600)}café`, `${'word '.repeat(600)}don't`, `${'Word. '.repeat(300)}e\u0301`,
    // More tokens than characters once NFKC has split them ('⑴' is three), past the featurizer's first scratch size.
    '⑴'.repeat(40), `${'⑴'.repeat(40)} ${'ab '.repeat(100)}`,
  ];
  const sst2 = parse(readFileSync(path.join(SHARED_DIR, 'datasets/sst2/dev.csv')), { columns: true }) as Record<string, string>[];
  const texts = sst2.map((row) => row.text);
  return [...tricky, ...texts, ...Array.from({ length: 500 }, (_, i) => benchText(i)), ...asciiNoise(3000)];
}

/**
 * Random ASCII strings dense in what splits words differently: hyphens and dots between or beside
 * letters and digits, runs of them, every kind of white space, control characters, capitals, and
 * now and then an apostrophe (which takes the regular expressions' path). Seeded, so a failure
 * repeats.
 */
function asciiNoise(count: number): string[] {
  const pieces = ['a', 'Z', 'q', '7', '0', '-', '.', '--', '..', ' ', '  ', '\t', '\n', '\r', '\v', '\f', ',', '!', '"', '\x00', '\x1f', '\x7f', 'Word', 'x-y', '3.14', 'e.g.', "'", "n't", '_', '@'];
  let state = 12345;
  const random = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  return Array.from({ length: count }, () => Array.from({ length: 1 + random(40) }, () => pieces[random(pieces.length)]).join(''));
}

describe('hashed n-gram features', () => {
  const texts = corpus();
  const optionSets: HashedNgramsOptions[] = [
    { kind: 'hashed-ngrams', buckets: 2_097_152, maxNgram: 2, lowercase: true, maxTokens: 512, weighting: 'binary' },
    { kind: 'hashed-ngrams', buckets: 1000, maxNgram: 3, lowercase: false, maxTokens: 7, weighting: 'l2' },
    // Unigrams alone with the most buckets (not a power of two: the remainder's division), and a large power of two (its mask).
    { kind: 'hashed-ngrams', buckets: 2 ** 31 - 1, maxNgram: 1, lowercase: true, maxTokens: 512, weighting: 'binary' },
    { kind: 'hashed-ngrams', buckets: 2 ** 30, maxNgram: 4, lowercase: true, maxTokens: 64, weighting: 'binary' },
  ];

  it('reads real data: the corpus holds the SST-2 dev sentences', () => {
    expect(texts.length).toBeGreaterThan(1000);
  });

  it.each(optionSets)('match the plain definition on every text (%o)', (options) => {
    for (const text of texts) {
      expect(wordTokens(text, options.lowercase, options.maxTokens)).toEqual(referenceTokens(text, options.lowercase, options.maxTokens));
      expect(hashedFeatures(text, options)).toEqual(referenceFeatures(text, options));
    }
  });

  it.each(optionSets)('pack the same features into padded rows, one featurizer for every text (%o)', (options) => {
    const featurizer = new HashedFeaturizer(options);
    for (let from = 0; from < texts.length; from += 97) {
      const group = texts.slice(from, from + 97);
      const { ids, weights, width } = featurizer.pack(group);
      const expected = group.map((text) => referenceFeatures(text, options));
      expect(width).toBe(Math.max(1, ...expected.map((row) => row.ids.length)));
      group.forEach((_, r) => {
        const { ids: rowIds, weights: rowWeights } = expected[r];
        const padding = new Array<number>(width - rowIds.length).fill(0);
        expect(Array.from(ids.subarray(r * width, (r + 1) * width))).toEqual([...rowIds, ...padding]);
        expect(Array.from(weights.subarray(r * width, (r + 1) * width))).toEqual([...rowWeights.map(Math.fround), ...padding]);
      });
    }
  });
});
