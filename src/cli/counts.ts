/**
 * A whole number as en-US writes it, with thousands separators (200,000): what the command line
 * says counts of rows in. Written out rather than toLocaleString('en-US'), whose first call loads
 * ICU's number formatting (28 ms of `sift batch`'s CPU here, just as the upload was answered) and
 * every later call makes a formatter again (0.1 ms). Anything but a safe integer goes to
 * toLocaleString as before.
 */
export function count(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let grouped = digits.slice(0, digits.length % 3 || 3);
  for (let at = grouped.length; at < digits.length; at += 3) grouped += `,${digits.slice(at, at + 3)}`;
  return n < 0 ? `-${grouped}` : grouped;
}
