/**
 * What the Compare view draws from a stored run (`ComparisonDetail`): the table's rows and
 * columns, and the Chart.js configurations of its charts. Pure functions of the run and the theme.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import type { MatrixDataPoint } from 'chartjs-chart-matrix';
import type { ComparisonCell, ComparisonDetail, ComparisonSummary } from '../../../shared/contract';
import { strategyNameOf } from '../../../shared/strategies';
import { fade, seriesColor, strategyColors, type ChartTheme } from './charts';
import { STRATEGIES } from './comparison.svelte';
import { percent } from './format';

/** A fraction as a percentage with one decimal: 0.6321 → "63.2". */
export const pct = (fraction: number) => (fraction * 100).toFixed(1);

/** A signed difference in points: "+2.3", "−0.4". */
export const signedPct = (fraction: number) => {
  const text = pct(Math.abs(fraction));
  return `${fraction < 0 && text !== '0.0' ? '−' : '+'}${text}`;
};

/** Long layer names keep their start and end on an axis: "global_ave…pooling2d_1". */
export function shortName(name: string, max = 22): string {
  if (name.length <= max) return name;
  const head = Math.ceil((max - 1) / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (max - 1 - head))}`;
}

/** Shot count 0 means every label (splits mode). */
export const shotLabel = (shots: number) => (shots === 0 ? 'all labels' : `${shots}-shot`);

/** The shot counts of a run's results, in increasing order. */
export const shotColumns = (detail: ComparisonDetail) => [...new Set(detail.cells.map((c) => c.shots))].sort((a, b) => a - b);

/**
 * A row of a run's results: the strategy's label, or in a run of several teachers `teacher/label`
 * (teacher `*`: `atl-teachers` on all of them).
 */
export const rowOf = (result: { teacher?: string; strategy: string }) => (result.teacher === undefined ? result.strategy : `${result.teacher}/${result.strategy}`);

/** A row's teacher (none in a run of one teacher) and strategy label. */
export function rowParts(row: string): { teacher?: string; strategy: string } {
  const slash = row.indexOf('/');
  return slash < 0 ? { strategy: row } : { teacher: row.slice(0, slash), strategy: row.slice(slash + 1) };
}

/** Every teacher of a run by name, joined by +: "MobileNet v1 0.75 · ImageNet + ResNet-20 · CIFAR-10". */
export const runTeachers = (run: ComparisonSummary) => run.teachers.map((t) => t.name).join(' + ');

/** A teacher's name in a run (`*`: every teacher's, joined by +). */
export function teacherName(detail: ComparisonSummary, teacher: string): string {
  if (teacher === '*') return runTeachers(detail);
  return detail.teachers.find((t) => t.id === teacher)?.name ?? teacher;
}

/** A row as people read it: "atl", or "ResNet-20 · CIFAR-10: atl". */
export function rowLabel(detail: ComparisonSummary, row: string): string {
  const { teacher, strategy } = rowParts(row);
  return teacher === undefined ? strategy : `${teacherName(detail, teacher)}: ${strategy}`;
}

/**
 * The rows of a run's results: grouped by teacher (in the run's order, `*` last), each teacher's
 * strategies in the studio's order, a configured one after its strategy's default.
 */
export function strategyRows(detail: ComparisonDetail): string[] {
  const teacherRank = (row: string) => {
    const { teacher } = rowParts(row);
    return teacher === '*' ? detail.teachers.length : detail.teachers.findIndex((t) => t.id === teacher);
  };
  const rank = (row: string) => STRATEGIES.indexOf(strategyNameOf(rowParts(row).strategy));
  const configured = (row: string) => rowParts(row).strategy !== strategyNameOf(rowParts(row).strategy);
  const rows = [...new Set(detail.cells.map(rowOf))];
  return rows.sort((a, b) => teacherRank(a) - teacherRank(b) || rank(a) - rank(b) || Number(configured(a)) - Number(configured(b)) || (a < b ? -1 : 1));
}

export function cellOf(detail: ComparisonDetail, row: string, shots: number): ComparisonCell | undefined {
  return detail.cells.find((c) => rowOf(c) === row && c.shots === shots);
}

/** The baseline of every Δ: `penultimate`, in a run of several teachers the first teacher's. */
export const baselineRow = (detail: ComparisonSummary) => (detail.teachers.length > 1 ? `${detail.teachers[0].id}/penultimate` : 'penultimate');

/** The row whose chosen layers the charts show: `atl-teachers` across teachers, else the (first teacher's) `atl`. */
export function atlRow(rows: readonly string[]): string | undefined {
  return rows.find((r) => r === '*/atl-teachers') ?? rows.find((r) => rowParts(r).strategy === 'atl');
}

/** Candidates (`layer:pooling`) in depth order, as the run's per-layer profile lists them. */
export function candidatesByDepth(detail: ComparisonDetail): { candidate: string; layer: string; pooling: string }[] {
  const seen = new Map<string, { candidate: string; layer: string; pooling: string; depth: number; teacher?: string }>();
  for (const p of detail.profile) if (!seen.has(p.candidate)) seen.set(p.candidate, p);
  // Several teachers: each teacher's layers in turn.
  const teacherRank = (teacher?: string) => detail.teachers.findIndex((t) => t.id === teacher);
  return [...seen.values()].sort((a, b) => teacherRank(a.teacher) - teacherRank(b.teacher) || a.depth - b.depth || (a.pooling < b.pooling ? -1 : 1));
}

/** Accuracy vs shots, one line per strategy with its 95 % CI as a band (two hidden-in-legend datasets). */
export function accuracyChart(detail: ComparisonDetail, theme: ChartTheme): ChartConfiguration<'line'> {
  const shots = shotColumns(detail);
  const strategies = strategyRows(detail);
  const cells = strategies.map((s) => shots.map((k) => cellOf(detail, s, k)));
  const value = (cell: ComparisonCell | undefined, sign: number) => (cell ? (cell.mean + sign * cell.ci95) * 100 : null);
  const teacherIds = detail.teachers.map((t) => t.id);
  const datasets = strategies.flatMap((row, i) => {
    const { teacher, strategy } = rowParts(row);
    const label = rowLabel(detail, row);
    // A configured strategy takes its strategy's color, dashed; a later teacher's rows are dotted.
    const color = strategyColors[strategyNameOf(strategy)];
    const borderDash = strategy !== strategyNameOf(strategy) ? [5, 3] : teacher !== undefined && teacher !== teacherIds[0] ? [2, 2] : [];
    const band = { borderWidth: 0, pointRadius: 0, pointHitRadius: 0, borderColor: 'transparent', backgroundColor: fade(color, 0.12) };
    return [
      { ...band, label: `${label} low`, data: cells[i].map((c) => value(c, -1)), fill: false },
      { ...band, label: `${label} high`, data: cells[i].map((c) => value(c, 1)), fill: '-1' as const },
      { label, data: cells[i].map((c) => value(c, 0)), borderColor: color, backgroundColor: color, borderDash, pointRadius: 3, borderWidth: 2 },
    ];
  });
  // Every strategy is three datasets: band low, band high, mean; only the mean is named.
  const isMean = (index: number) => index % 3 === 2;
  return {
    type: 'line',
    data: { labels: shots.map(shotLabel), datasets },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        y: { max: 100, title: { display: true, text: 'Accuracy (%)', color: theme.dim } },
        // One column (splits mode) stands in the middle, not on the axis.
        x: { offset: shots.length === 1, title: { display: true, text: 'Labeled examples per class', color: theme.dim } },
      },
      plugins: {
        legend: {
          labels: { boxWidth: 12, filter: (item) => isMean(item.datasetIndex ?? 0) },
          onClick: (_event, item, legend) => {
            const chart = legend.chart;
            const mean = item.datasetIndex ?? 0;
            const hidden = chart.isDatasetVisible(mean);
            for (const index of [mean - 2, mean - 1, mean]) chart.setDatasetVisibility(index, !hidden);
            chart.update();
          },
        },
        tooltip: {
          filter: (item) => isMean(item.datasetIndex),
          callbacks: {
            label: (item) => {
              const cell = cells[Math.floor(item.datasetIndex / 3)][item.dataIndex];
              return cell ? `${rowLabel(detail, rowOf(cell))}: ${pct(cell.mean)} ± ${percent(cell.ci95, 1)}` : '';
            },
          },
        },
      },
    },
  };
}

/** Each candidate alone over depth: one color per shot count, gap solid and spatial dashed. */
export function profileChart(detail: ComparisonDetail, theme: ChartTheme): ChartConfiguration<'line'> {
  const layers = [...new Set(candidatesByDepth(detail).map((c) => c.layer))];
  const shots = [...new Set(detail.profile.map((p) => p.shots))].sort((a, b) => a - b);
  const poolings = [...new Set(detail.profile.map((p) => p.pooling))].sort();
  const datasets = shots.flatMap((k, i) =>
    poolings.map((pooling) => {
      const points = layers.map((layer) => detail.profile.find((p) => p.shots === k && p.pooling === pooling && p.layer === layer));
      const dashed = pooling !== 'gap';
      return {
        label: `${shotLabel(k)} · ${pooling}`,
        data: points.map((p) => (p ? p.mean * 100 : null)),
        ci: points.map((p) => p?.ci95 ?? 0),
        borderColor: seriesColor(i),
        backgroundColor: seriesColor(i),
        borderDash: dashed ? [5, 4] : [],
        pointStyle: dashed ? ('triangle' as const) : ('circle' as const),
        pointRadius: 3,
        borderWidth: 2,
        spanGaps: true,
      };
    }),
  );
  return {
    type: 'line',
    data: { labels: layers, datasets },
    options: {
      scales: {
        y: { title: { display: true, text: 'Accuracy alone (%)', color: theme.dim } },
        x: {
          title: { display: true, text: 'Layer, input → output', color: theme.dim },
          ticks: { autoSkip: true, maxRotation: 60, callback: (_value, index) => shortName(layers[index]) },
        },
      },
      plugins: {
        legend: { labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
        tooltip: {
          callbacks: {
            label: (item) => {
              const ci = datasets[item.datasetIndex].ci[item.dataIndex];
              return `${item.dataset.label}: ${(item.raw as number).toFixed(1)} ± ${percent(ci, 1)}`;
            },
          },
        },
      },
    },
  };
}

/** How often `atl` (or the row given) chose each candidate at one shot count (share of episodes), in depth order. */
export function chosenChart(detail: ComparisonDetail, shots: number, theme: ChartTheme, row = 'atl'): ChartConfiguration<'bar'> {
  const chosen = cellOf(detail, row, shots)?.layersChosen ?? {};
  const ordered = candidatesByDepth(detail).map((c) => c.candidate);
  const candidates = [...ordered, ...Object.keys(chosen).filter((c) => !ordered.includes(c))];
  const spatial = (candidate: string) => candidate.endsWith(':spatial');
  return {
    type: 'bar',
    data: {
      labels: candidates,
      datasets: [
        {
          label: `${rowLabel(detail, row)}, ${shotLabel(shots)}`,
          data: candidates.map((c) => (chosen[c] ?? 0) * 100),
          backgroundColor: candidates.map((c) => (spatial(c) ? fade(theme.warn, 0.75) : fade(theme.accent, 0.8))),
          borderRadius: 3,
        },
      ],
    },
    options: {
      scales: {
        y: { min: 0, max: 100, title: { display: true, text: 'Chosen in % of episodes', color: theme.dim } },
        x: {
          ticks: {
            autoSkip: false,
            maxRotation: 70,
            minRotation: 45,
            callback: (_value, index) => {
              const [layer, pooling] = candidates[index].split(':');
              return `${shortName(layer, 20)}${pooling === 'spatial' ? ' ▦' : ''}`;
            },
          },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => candidates[items[0].dataIndex],
            label: (item) => `chosen in ${(item.raw as number).toFixed(0)} % of episodes`,
          },
        },
      },
    },
  };
}

/** Writes each cell's count on the confusion matrix. */
const matrixCounts: Plugin<'matrix'> = {
  id: 'matrixCounts',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const meta = chart.getDatasetMeta(0);
    const data = chart.data.datasets[0].data as MatrixDataPoint[];
    ctx.save();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `600 11px ${getComputedStyle(document.body).fontFamily}`;
    ctx.fillStyle = String(chart.options.color);
    meta.data.forEach((element, i) => {
      const { x, y, width, height } = element.getProps(['x', 'y', 'width', 'height'], true) as Record<string, number>;
      if (data[i].v) ctx.fillText(String(data[i].v), x + width / 2, y + height / 2);
    });
    ctx.restore();
  },
};

/** Query counts, true class (rows) × predicted class (columns), shaded by the share of the row. */
export function confusionChart(
  detail: ComparisonDetail,
  strategy: string,
  shots: number,
  theme: ChartTheme,
): ChartConfiguration<'matrix'> | null {
  const matrix = detail.confusion.find((m) => rowOf(m) === strategy && m.shots === shots)?.matrix;
  if (!matrix) return null;
  const names = detail.classes.map((c) => c.name);
  const n = names.length;
  const rowTotals = matrix.map((row) => row.reduce((sum, v) => sum + v, 0));
  const data = matrix.flatMap((row, t) => row.map((v, p) => ({ x: names[p], y: names[t], v, t, p })));
  return {
    type: 'matrix',
    data: {
      datasets: [
        {
          label: `${rowLabel(detail, strategy)}, ${shotLabel(shots)}`,
          data,
          backgroundColor: (ctx) => {
            const cell = data[ctx.dataIndex];
            if (!cell) return 'transparent';
            const share = rowTotals[cell.t] > 0 ? cell.v / rowTotals[cell.t] : 0;
            return fade(cell.t === cell.p ? theme.ok : theme.danger, 0.08 + 0.72 * share);
          },
          borderColor: theme.grid,
          borderWidth: 1,
          width: ({ chart }) => (chart.chartArea?.width ?? 0) / n - 2,
          height: ({ chart }) => (chart.chartArea?.height ?? 0) / n - 2,
        },
      ],
    },
    options: {
      color: theme.text,
      scales: {
        x: { type: 'category', labels: names, offset: true, grid: { display: false }, title: { display: true, text: 'Predicted', color: theme.dim } },
        // The first class on top, as confusion matrices are read: vertical category scales do so
        // unless reversed, and the matrix chart reverses its y axis by default.
        y: {
          type: 'category',
          labels: names,
          offset: true,
          reverse: false,
          grid: { display: false },
          title: { display: true, text: 'True class', color: theme.dim },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: () => '',
            label: (item) => {
              const cell = data[item.dataIndex];
              const share = rowTotals[cell.t] > 0 ? ` (${percent(cell.v / rowTotals[cell.t], 1)} of ${cell.y})` : '';
              return `${cell.y} → ${cell.x}: ${cell.v} ${cell.v === 1 ? 'query' : 'queries'}${share}`;
            },
          },
        },
      },
    },
    plugins: [matrixCounts],
  };
}
