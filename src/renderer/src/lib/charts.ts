/**
 * Chart.js for the Compare view, tree-shaken: only the controllers, elements, scales and plugins
 * its charts use are registered (line, bar, the matrix of chartjs-chart-matrix). Charts draw on a
 * canvas, so the strict CSP needs nothing more; their colors come from the theme's CSS variables.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';
import type { StrategyName } from '../../../shared/contract';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  MatrixController,
  MatrixElement,
);

export { Chart };
export type AnyChartConfig = ChartConfiguration<'line'> | ChartConfiguration<'bar'> | ChartConfiguration<'matrix'>;

/** The theme's colors, read from the CSS variables of app.css as they are now. */
export interface ChartTheme {
  text: string;
  dim: string;
  grid: string;
  panel: string;
  accent: string;
  ok: string;
  danger: string;
  warn: string;
}

export function chartTheme(): ChartTheme {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string) => style.getPropertyValue(name).trim();
  return {
    text: read('--text'),
    dim: read('--text-dim'),
    grid: read('--border'),
    panel: read('--raised'),
    accent: read('--accent'),
    ok: read('--ok'),
    danger: read('--danger'),
    warn: read('--warn'),
  };
}

/** Sets Chart.js defaults (text, grid lines, tooltips) to the theme before a chart is made. */
export function applyChartTheme(theme: ChartTheme): void {
  Chart.defaults.color = theme.dim;
  Chart.defaults.borderColor = theme.grid;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 11;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  const tooltip = Chart.defaults.plugins.tooltip;
  tooltip.backgroundColor = theme.panel;
  tooltip.titleColor = theme.text;
  tooltip.bodyColor = theme.text;
  tooltip.borderColor = theme.grid;
  tooltip.borderWidth = 1;
}

/** Medium tones that read on both the dark and the light background. */
export const strategyColors: Record<StrategyName, string> = {
  penultimate: '#8e95a5',
  'best-single': '#38a8e0',
  atl: '#7c5cff',
  'all-layers': '#f0a030',
  head2toe: '#e0609a',
  ncm: '#2fb38a',
  'ncm-atl': '#a8b83a',
  'atl-teachers': '#f0616d',
};

const seriesColors = ['#4d8dff', '#f0a030', '#2fb38a', '#e0609a', '#7c5cff', '#38a8e0', '#a8b83a', '#f0616d'];
export const seriesColor = (index: number) => seriesColors[index % seriesColors.length];

/** `#rrggbb` (or a CSS color Chart.js cannot fade) with an alpha. */
export function fade(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = parseInt(hex[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
