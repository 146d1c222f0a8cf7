import type { HashedNgramsOptions } from '../models/tokenizers/hashed-ngrams';

/** Which rows of a dataset file a step uses: all of them, or one side of the recipe's hold-out. */
export type DatasetPart = 'all' | 'train-part' | 'held-out';

/** A dataset file (relative to the datasets folder) and the part of it that is used. */
export interface DatasetRef {
  file: string;
  part: DatasetPart;
}

/** Everything needed to train, export and evaluate one bundled model. */
export interface ModelRecipe {
  /** Folder name under `models/`. */
  name: string;
  /** Class labels in output order. */
  labels: string[];
  tokenizer: HashedNgramsOptions;
  /** Characters per text the served model accepts at most. */
  maxTextLength: number;
  train: DatasetRef;
  /** Where accuracy is measured, after training and by `npm run eval`. */
  evaluation: DatasetRef[];
  /** Deterministic stratified hold-out, used by parts 'train-part' and 'held-out'. */
  holdOut?: { fraction: number; seed: number };
  /** L2-regularised logistic regression fitted with L-BFGS. */
  trainer: {
    l2: number;
    maxIterations: number;
    /** When set (two classes only), inputs are scaled by Naive-Bayes log-count ratios with this smoothing. */
    naiveBayesAlpha?: number;
  };
  /** Start of the manifest description; the measured accuracy is appended at training time. */
  describe: string;
}

/**
 * The settings of every bundled model, in one place. Chosen on SST-2 dev (sentiment) and on the
 * TREC hold-out (question type): bag-of-n-gram models plateau near 0.82 on SST-2 dev, and this
 * deterministic linear model did as well as embedding-bag networks there while being much simpler.
 */
export const RECIPES: ModelRecipe[] = [
  {
    name: 'sentiment',
    labels: ['negative', 'positive'],
    // 2^21 buckets: SST-2 train has ~86k distinct words and word pairs, so collisions stay rare;
    // the exported binary model keeps one weight per bucket (8 MB).
    tokenizer: { kind: 'hashed-ngrams', buckets: 2 ** 21, maxNgram: 2, lowercase: true, maxTokens: 512, weighting: 'binary' },
    maxTextLength: 2000,
    train: { file: 'sst2/train.csv', part: 'all' },
    evaluation: [{ file: 'sst2/dev.csv', part: 'all' }],
    trainer: { l2: 1e-4, maxIterations: 300, naiveBayesAlpha: 1 },
    describe:
      'Sentiment of English text (negative / positive): Naive-Bayes-weighted logistic regression over hashed ' +
      'word unigrams and bigrams, trained on the SST-2 training phrases (Socher et al. 2013, GLUE).',
  },
  {
    name: 'question-type',
    labels: ['ABBR', 'DESC', 'ENTY', 'HUM', 'LOC', 'NUM'],
    // Cased: capitals (names, acronyms) help tell HUM, LOC and ABBR apart; 0.870 vs 0.850 lower-cased.
    tokenizer: { kind: 'hashed-ngrams', buckets: 2 ** 18, maxNgram: 2, lowercase: false, maxTokens: 256, weighting: 'binary' },
    maxTextLength: 1000,
    train: { file: 'trec/train.csv', part: 'train-part' },
    evaluation: [{ file: 'trec/train.csv', part: 'held-out' }],
    holdOut: { fraction: 0.1, seed: 20020824 },
    trainer: { l2: 3e-5, maxIterations: 300 },
    describe:
      'Coarse type of the answer an English question expects (TREC classes ABBR, DESC, ENTY, HUM, LOC, NUM): ' +
      'logistic regression over hashed word unigrams and bigrams, trained on 90% of the TREC training questions ' +
      '(Li & Roth 2002).',
  },
];
