/** A number as JSON.stringify writes it: a finite number as its String, any other (NaN, the infinities) and null as null. */
export function jsonNumber(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null';
}
