/**
 * Grouped bar charts as standalone SVG, for the benchmark reports: one group per category (a kind of
 * load, a percentile), one bar per series (a path: direct, relay, gateway), the value printed on
 * each bar. No dependencies: the benchmarks write their charts themselves, next to their tables.
 */

export interface BarChart {
  title: string;
  /** What the values measure, with their unit (the y axis label). */
  unit: string;
  /** Group labels along the x axis. */
  categories: string[];
  /** One bar per category each; `values[i]` belongs to `categories[i]` (NaN leaves a gap). */
  series: { name: string; values: number[]; color?: string }[];
  /** A note under the chart (conditions, where the figures come from). */
  note?: string;
}

const PALETTE = ['#7f8c8d', '#2e86c1', '#e67e22', '#27ae60', '#8e44ad', '#c0392b'];
const WIDTH = 760;
const HEIGHT = 360;
const MARGIN = { top: 48, right: 16, bottom: 78, left: 72 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 1, 2 or 5 times a power of ten: a tick step giving about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

/** Short figures for labels: 12 345 -> "12.3k", 0.456 -> "0.46". */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function barChartSvg(chart: BarChart): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = chart.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const top = Math.max(...values, 0) || 1;
  const step = niceStep(top, 5);
  const axisMax = Math.ceil((top * 1.08) / step) * step;
  const y = (v: number) => MARGIN.top + plotHeight - (v / axisMax) * plotHeight;
  const groupWidth = plotWidth / Math.max(1, chart.categories.length);
  const barWidth = Math.min(56, (groupWidth * 0.8) / Math.max(1, chart.series.length));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (let tick = 0; tick <= axisMax + step / 2; tick += step) {
    const ty = y(tick).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${ty}" y2="${ty}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle" fill="#555">${formatValue(tick)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escapeXml(chart.unit)}</text>`,
  );
  chart.categories.forEach((category, c) => {
    const groupLeft = MARGIN.left + c * groupWidth + (groupWidth - barWidth * chart.series.length) / 2;
    chart.series.forEach((series, s) => {
      const value = series.values[c];
      if (value === undefined || !Number.isFinite(value)) return;
      const x = groupLeft + s * barWidth;
      const by = y(Math.max(0, value));
      out.push(
        `<rect x="${(x + 1).toFixed(1)}" y="${by.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(MARGIN.top + plotHeight - by).toFixed(1)}" fill="${series.color ?? PALETTE[s % PALETTE.length]}"><title>${escapeXml(`${series.name}, ${category}: ${value}`)}</title></rect>`,
        `<text x="${(x + barWidth / 2).toFixed(1)}" y="${(by - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#333">${formatValue(value)}</text>`,
      );
    });
    out.push(
      `<text x="${(MARGIN.left + (c + 0.5) * groupWidth).toFixed(1)}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle">${escapeXml(category)}</text>`,
    );
  });
  out.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`,
  );
  // The legend, left to right under the axis labels.
  let lx = MARGIN.left;
  const ly = MARGIN.top + plotHeight + 40;
  chart.series.forEach((series, s) => {
    out.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${series.color ?? PALETTE[s % PALETTE.length]}"/>`,
      `<text x="${lx + 17}" y="${ly + 1}">${escapeXml(series.name)}</text>`,
    );
    lx += 30 + series.name.length * 7;
  });
  if (chart.note !== undefined) {
    out.push(
      `<text x="${MARGIN.left}" y="${HEIGHT - 10}" font-size="10" fill="#666">${escapeXml(chart.note)}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
