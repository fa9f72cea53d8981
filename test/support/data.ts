import type { Row } from '#scenario';

/** Rows as CSV text (header = the given columns), quoting where CSV needs it. */
export function toCsv(columns: string[], rows: Row[]): string {
  const q = (v: unknown): string => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => q(r[c])).join(','))].join('\n') + '\n';
}
