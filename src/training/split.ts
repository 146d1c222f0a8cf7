import type { LabeledTexts } from './datasets';

/**
 * Mulberry32: a tiny seeded generator of floats in [0, 1). Training and evaluation both need the
 * same sequence on every machine and Node release, which `Math.random` does not give.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of `items` in place, driven by `random`. Returns `items`. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: () => number): T[] | Int32Array {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = items[i];
    items[i] = items[j];
    items[j] = swap;
  }
  return items;
}

/** A split of one collection into the rows to train on and the rows held out for evaluation. */
export interface HoldOutSplit {
  train: LabeledTexts;
  heldOut: LabeledTexts;
}

/**
 * Deterministic stratified hold-out: within each label, rows are shuffled with `seed` and the first
 * `round(fraction * count)` are held out, so rare classes (TREC's ABBR has 79 rows) still appear in
 * evaluation. Both sets keep the file's row order. Training and evaluation call this with the same
 * arguments, which is what keeps held-out rows out of training.
 */
export function stratifiedHoldOut(data: LabeledTexts, fraction: number, seed: number): HoldOutSplit {
  const byLabel = new Map<string, number[]>();
  data.labels.forEach((label, row) => {
    const rows = byLabel.get(label) ?? [];
    rows.push(row);
    byLabel.set(label, rows);
  });
  const random = seededRandom(seed);
  const heldOutRows = new Set<number>();
  for (const label of [...byLabel.keys()].sort()) {
    const rows = shuffleInPlace([...byLabel.get(label)!], random) as number[];
    rows.slice(0, Math.round(fraction * rows.length)).forEach((row) => heldOutRows.add(row));
  }
  const pick = (keep: (row: number) => boolean): LabeledTexts => {
    const rows = data.texts.map((_, row) => row).filter(keep);
    return { texts: rows.map((row) => data.texts[row]), labels: rows.map((row) => data.labels[row]) };
  };
  return { train: pick((row) => !heldOutRows.has(row)), heldOut: pick((row) => heldOutRows.has(row)) };
}
