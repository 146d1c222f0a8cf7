/**
 * Varied English review sentences, lower-cased and tokenized like SST-2
 * ("the acting was surprisingly moving , though the plot drags").
 *
 * `benchText(i)` is a pure function of `i`, so the benchmark can hand every request a text no
 * earlier request sent (a guaranteed cache miss) without keeping a set of sent texts, and load
 * generator threads can produce texts independently from disjoint index ranges.
 */

const NOUNS = [
  'acting', 'plot', 'script', 'film', 'movie', 'story', 'cast', 'director', 'ending', 'soundtrack',
  'dialogue', 'pacing', 'cinematography', 'premise', 'performance', 'humor', 'climax', 'sequel', 'score', 'editing',
  'screenplay', 'narrative', 'romance', 'villain', 'hero', 'comedy', 'drama', 'thriller', 'documentary', 'animation',
  'lead', 'ensemble', 'camera', 'finale', 'opening', 'music', 'tone', 'twist', 'setting', 'production',
];
const ADVERBS = [
  'surprisingly', 'remarkably', 'painfully', 'utterly', 'quietly', 'oddly', 'genuinely', 'hardly', 'almost', 'rather',
  'consistently', 'wildly', 'strangely', 'deeply', 'barely', 'relentlessly', 'endlessly', 'thoroughly', 'mildly', 'truly',
];
const ADJECTIVES = [
  'moving', 'dull', 'brilliant', 'tedious', 'charming', 'clumsy', 'gorgeous', 'flat', 'witty', 'predictable',
  'heartfelt', 'bland', 'gripping', 'forgettable', 'sharp', 'messy', 'tender', 'shallow', 'haunting', 'lifeless',
  'funny', 'bloated', 'smart', 'sluggish', 'fresh', 'stale', 'honest', 'hollow', 'vivid', 'awkward',
  'delightful', 'tiresome', 'elegant', 'confused', 'warm', 'cold', 'bold', 'timid', 'rich', 'thin',
];
const VERBS = [
  'drags', 'soars', 'sags', 'sparkles', 'stumbles', 'works', 'fails', 'shines', 'wanders', 'holds',
  'falters', 'delivers', 'disappoints', 'lingers', 'collapses', 'surprises', 'bores', 'charms', 'grates', 'resonates',
  'plods', 'dazzles', 'meanders', 'clicks', 'fizzles', 'sings', 'crawls', 'glows', 'misfires', 'lands',
];
const DETERMINERS = ['the', 'its', 'this', 'that', 'every'];
const LINKS = ['is', 'was', 'feels', 'seems', 'remains'];
const CONJUNCTIONS = ['though', 'but', 'while', 'and', 'yet', 'because', 'although', 'since'];
const TAILS = [
  'for most of its running time', 'in the second half', 'from start to finish', 'by the final reel',
  'despite a strong start', 'without ever finding its footing', 'in ways you do not expect', 'more often than not',
  'for anyone over twelve', 'even on a second viewing', 'until the last few minutes', 'at nearly every turn',
];
const CLOSERS = [
  'a real treat', 'a waste of time', 'worth the ticket', 'hard to sit through', 'a minor triumph',
  'an honest mess', 'easy to recommend', 'best forgotten', 'a small wonder', 'a slog',
];

// The ten fixed token positions of every sentence and the word list each one draws from.
const SLOTS = [DETERMINERS, NOUNS, LINKS, ADVERBS, ADJECTIVES, [','], CONJUNCTIONS, DETERMINERS, NOUNS, VERBS] as const;

/** Texts `benchText` can tell apart by its first ten words alone (3.84e10); later ones get a suffix. */
export const DISTINCT_CORE_TEXTS = SLOTS.reduce((product, list) => product * list.length, 1);

// Multiplying by a number coprime to DISTINCT_CORE_TEXTS (whose prime factors are 2, 3 and 5)
// permutes the indices, so consecutive texts differ in every slot rather than only the first.
const SPREAD = 2654435761n;
const CORE = BigInt(DISTINCT_CORE_TEXTS);

/** mulberry32: a tiny seeded PRNG, good enough to vary word choices reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `i`-th benchmark sentence (0 ≤ i < 2^53), 10 to about 30 tokens long.
 * Different `i` always give different texts: the first ten tokens (one word each, fixed
 * positions) spell a permutation of `i` in mixed radix, and indices beyond `DISTINCT_CORE_TEXTS`
 * get ", take <n>" appended. The words after them come from a PRNG seeded with `i`, for variety in
 * length and vocabulary.
 */
export function benchText(i: number, seed = 0x51f7): string {
  const random = prng(Math.imul(i % 0x7fffffff, 0x9e3779b1) ^ Math.floor(i / 0x7fffffff) ^ seed);
  const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)];
  let rest = Number((BigInt(i % DISTINCT_CORE_TEXTS) * SPREAD) % CORE);
  const words: string[] = [];
  for (const list of SLOTS) {
    words.push(list[rest % list.length]);
    rest = Math.floor(rest / list.length);
  }
  let text = words.join(' ');
  const extra = Math.floor(random() * 4);
  if (extra >= 1) text += ` ${pick(TAILS)}`;
  if (extra >= 2) text += ` , and the ${pick(NOUNS)} ${pick(LINKS)} ${pick(ADJECTIVES)}`;
  if (extra >= 3) text += ` -- ${pick(CLOSERS)}`;
  const lap = Math.floor(i / DISTINCT_CORE_TEXTS);
  if (lap > 0) text += ` , take ${lap}`;
  return text;
}

/** `count` consecutive benchmark sentences starting at index `start`. */
export function benchTexts(start: number, count: number): string[] {
  return Array.from({ length: count }, (_, k) => benchText(start + k));
}
