/**
 * Benchmark figures: every figure is printed the moment it is measured (so a long run shows
 * progress and a crash keeps what was measured), and collected for the summary and BENCHMARKS.md.
 */

export interface Figure {
  /** section of the issue (e.g. "1 water end to end") */
  section: string;
  name: string;
  value: number | string;
  unit?: string;
  /** the target in words, e.g. "≤ 10 s" */
  target?: string;
  /** true met, false missed, undefined no target */
  met?: boolean;
  note?: string;
}

export function fmt(v: number | string, unit = ''): string {
  if (typeof v === 'string') return v + (unit ? ` ${unit}` : '');
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4;
  const s = v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${s} ${unit}` : s;
}

export class Report {
  readonly figures: Figure[] = [];
  readonly notes: { section: string; text: string }[] = [];
  readonly errors: { section: string; message: string }[] = [];

  constructor(private readonly out: (line: string) => void = (l) => process.stdout.write(l + '\n')) {}

  add(f: Figure): Figure {
    this.figures.push(f);
    const mark = f.met === undefined ? '' : f.met ? '  [met]' : '  [MISSED]';
    const target = f.target ? `  (target ${f.target})` : '';
    const note = f.note ? `  — ${f.note}` : '';
    this.out(`  ${f.name}: ${fmt(f.value, f.unit)}${target}${mark}${note}`);
    return f;
  }

  note(section: string, text: string): void {
    this.notes.push({ section, text });
    this.out(`  note: ${text}`);
  }

  error(section: string, e: unknown): void {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.errors.push({ section, message });
    this.out(`  ERROR in ${section}: ${message}`);
  }

  heading(section: string): void {
    this.out(`\n== ${section} ==`);
  }

  /** A markdown table of every figure (for BENCHMARKS.md), then notes and errors. */
  toMarkdown(): string {
    const esc = (s: string): string => s.replace(/\|/g, '\\|');
    const lines: string[] = [];
    // one table per section, sections in the order they were first measured
    const order = [...new Set(this.figures.map((f) => f.section))];
    for (const section of order) {
      lines.push('', `### ${section}`, '', '| figure | value | target | status | note |', '| --- | --- | --- | --- | --- |');
      for (const f of this.figures.filter((x) => x.section === section)) {
        const status = f.met === undefined ? '' : f.met ? 'met' : '**missed**';
        lines.push(`| ${esc(f.name)} | ${esc(fmt(f.value, f.unit))} | ${esc(f.target ?? '')} | ${status} | ${esc(f.note ?? '')} |`);
      }
    }
    if (this.notes.length) {
      lines.push('', '### Notes', '');
      for (const n of this.notes) lines.push(`- (${n.section}) ${n.text}`);
    }
    if (this.errors.length) {
      lines.push('', '### Errors', '');
      for (const e of this.errors) lines.push(`- (${e.section}) ${e.message}`);
    }
    return lines.join('\n') + '\n';
  }

  /** The targets, one line each, for the end of the console output. */
  summary(): string {
    const t = this.figures.filter((f) => f.met !== undefined);
    const lines = [
      '',
      '== targets ==',
      ...t.map((f) => `  ${f.met ? 'met    ' : 'MISSED '} ${f.section} / ${f.name}: ${fmt(f.value, f.unit)} (target ${f.target})`),
    ];
    if (this.errors.length)
      lines.push('', `== ${this.errors.length} error(s) ==`, ...this.errors.map((e) => `  ${e.section}: ${e.message}`));
    return lines.join('\n');
  }
}
