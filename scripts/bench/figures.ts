/**
 * The benchmark's output: figures with what they are compared with and, for
 * some, a budget; rendered as one markdown table.
 */

/** A budget a figure must meet. */
export interface Budget {
  /** The rule, e.g. `≥ 0.80`. */
  rule: string;
  met: boolean;
}

/** One row of the table. */
export interface Figure {
  figure: string;
  /** Ours, as measured. */
  measured: string;
  /** What it is compared with, measured in the same run ("" when nothing). */
  reference: string;
  /** Ours against the reference ("" when not a ratio). */
  ratio: string;
  budget?: Budget;
}

/** What a run comes to. */
export interface BenchOutcome {
  /** 1 when a budget was missed or a measurement could not be made; warnings alone do not fail a run. */
  exitCode: 0 | 1;
  /** Budgets met, of `budgets`. */
  met: number;
  budgets: number;
  /** One line for each missed budget, then each measurement problem, then each warning. */
  messages: string[];
}

/** Judges a run by its figures' budgets and the problems and warnings of its parts. */
export function benchOutcome(figures: readonly Figure[], problems: readonly string[], warnings: readonly string[]): BenchOutcome {
  const budgeted = figures.filter((figure) => figure.budget !== undefined);
  const missed = budgeted.filter((figure) => !figure.budget!.met);
  return {
    exitCode: missed.length > 0 || problems.length > 0 ? 1 : 0,
    met: budgeted.length - missed.length,
    budgets: budgeted.length,
    messages: [
      ...missed.map((figure) => `budget missed: ${figure.figure} (${figure.budget!.rule})`),
      ...problems.map((problem) => `measurement problem: ${problem}`),
      ...warnings.map((warning) => `warning: ${warning}`),
    ],
  };
}

/** Formats a number with `digits` significant digits at most, without exponent notation. */
export function num(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** Milliseconds with one decimal below 100. */
export function ms(value: number): string {
  return `${value < 100 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** Bytes as KiB with one decimal. */
export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The figures as one markdown table. */
export function renderTable(figures: readonly Figure[]): string {
  const lines = ["| figure | measured | reference (same run) | ratio | budget |", "|---|---|---|---|---|"];
  for (const figure of figures) {
    const budget = figure.budget ? `${figure.budget.rule}: ${figure.budget.met ? "pass" : "**FAIL**"}` : "";
    lines.push(`| ${[figure.figure, figure.measured, figure.reference, figure.ratio, budget].map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}
