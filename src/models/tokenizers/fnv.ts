/**
 * 32-bit FNV-1a over UTF-16 code units, the hash of every bundled model's n-grams. Stable across
 * platforms and releases (it is part of every bundled model), and defined for any string, lone
 * surrogates included.
 */
export const FNV_OFFSET_BASIS = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

export function fnv1a(text: string): number {
  return fnv1aUpdate(FNV_OFFSET_BASIS, text) >>> 0;
}

/** FNV-1a state after `text` is fed on from state `hash` (an int32). */
export function fnv1aUpdate(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/**
 * FNV-1a state after the space that joins an n-gram's words, fed on from the state of its words so
 * far: an n-gram is its words joined by one space, hashed without building the string.
 */
export function fnv1aWordJoined(hash: number): number {
  return Math.imul(hash ^ 0x20, FNV_PRIME);
}
