/** Number and table formats shared by the markdown the bench scripts generate. */

/** A fraction as a percentage with one decimal. */
export const pct = (fraction: number) => (100 * fraction).toFixed(1);

/** Signed points with a real minus sign; a value that rounds to zero is +0.0. */
export function signedPoints(fraction: number): string {
  const s = (100 * Math.abs(fraction)).toFixed(1);
  return fraction < 0 && s !== '0.0' ? `−${s}` : `+${s}`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
