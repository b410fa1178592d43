import type { TeacherInfo } from '../../../shared/contract';

/** How long a job still needs, for people: "42 s", "3 min 05 s", or "—" while unknown. */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * A fraction as a percentage for people: percent(0.438) → "44 %", percent(0.6321, 1) → "63.2 %".
 * A no-break space joins the number to its "%", so that a line never breaks between them.
 */
export function percent(fraction: number, digits = 0): string {
  return `${(fraction * 100).toFixed(digits)}\u00a0%`;
}

/** Image counts run into the thousands: "1,234" in the user's locale. */
export function count(n: number): string {
  return n.toLocaleString();
}

/** Teacher file formats, as the Models view names them. */
export const formatNames: Record<TeacherInfo['format'], string> = {
  'tfjs-layers': 'TF.js layers',
  'tfjs-graph': 'TF.js graph',
  onnx: 'ONNX',
};

/** A stored timestamp for people: "Nov 27, 2026, 11:08 PM" in the user's locale; `fallback` when it does not parse. */
export function when(iso: string, fallback = iso): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? fallback : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
