import { svg } from './dom';

export interface Series {
  name: string;
  /** One value per reading, oldest first. */
  values: number[];
}

const WIDTH = 260;
const HEIGHT = 70;

/** A small line chart: the series share one y axis starting at zero; the largest value is labelled. */
export function lineChart(series: readonly Series[], points: number): SVGElement {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => (points <= 1 ? WIDTH : (i / (points - 1)) * WIDTH);
  // The top 14 px are left to the scale label.
  const y = (v: number) => HEIGHT - (v / max) * (HEIGHT - 14) - 1;
  const lines = series.map((s) => {
    const offset = points - s.values.length;
    const coords = s.values.map((v, i) => `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    return svg('polyline', { points: coords, class: `series ${s.name}` });
  });
  const label = svg('text', { x: 2, y: 10, class: 'axis' });
  label.textContent = `${formatRate(max)}/s`;
  return svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, class: 'chart', role: 'img' },
    svg('line', { x1: 0, y1: HEIGHT - 1, x2: WIDTH, y2: HEIGHT - 1, class: 'baseline' }),
    ...lines,
    label,
  );
}

export function formatRate(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  if (value >= 10) return value.toFixed(0);
  return value.toFixed(value === 0 ? 0 : 1);
}
