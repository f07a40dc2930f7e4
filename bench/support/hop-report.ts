/**
 * Turns the runs of a hop benchmark (bench/relay-floor.sh, bench/small-records.sh,
 * bench/latency.sh) into its report: bench/results/<name>.md with the environment, the headline
 * ratios (medians of per-round ratios), every run, and SVG charts beside it.
 *
 *   npx tsx bench/support/hop-report.ts floor|small|latency RUNS-FILE
 *
 * The scripts pass what the report says about the conditions in HOP_ENVIRONMENT (one line) and
 * HOP_SETTINGS (a paragraph). Runs files have one run per line, fields separated by spaces:
 *   floor:   kind path round records/s MB/s proxy-cpu-s bytes
 *   small:   path round records/s proxy-cpu-s records producers
 *   latency: rate path round records/s avg-ms p50 p95 p99 p99.9 max proxy-cpu-s
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { barChartSvg, type BarChart } from './svg-chart';

const RESULTS_DIR = path.join(__dirname, '..', 'results');
const NAMES: Record<string, string> = {
  direct: 'direct',
  relay: 'bare TCP relay',
  gateway: 'gateway, no middlewares',
};
const PATHS = ['direct', 'relay', 'gateway'];
/** One colour per path in every chart. */
const COLORS: Record<string, string> = { direct: '#7f8c8d', relay: '#2e86c1', gateway: '#e67e22' };

type Row = Record<string, string | number>;

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fixed = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

function readRuns(file: string, fields: string[]): Row[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parts = line.trim().split(/\s+/);
      const row: Row = {};
      fields.forEach((field, i) => {
        const raw = parts[i] ?? '';
        row[field] = raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
      });
      return row;
    });
}

/** Per-round A/B ratios of `value` between two paths, over the rows `select` keeps. */
function roundRatios(
  rows: Row[],
  select: (r: Row) => boolean,
  a: string,
  b: string,
  value: string,
): number[] {
  const rounds = [...new Set(rows.filter(select).map((r) => Number(r.round)))].sort((x, y) => x - y);
  return rounds.map((round) => {
    const of = (p: string) => rows.find((r) => select(r) && r.path === p && r.round === round);
    const ra = of(a);
    const rb = of(b);
    return ra && rb ? Number(ra[value]) / Number(rb[value]) : NaN;
  });
}

function ratioCell(ratios: number[]): string {
  return `**${fixed(median(ratios))}** (rounds: ${ratios.map((r) => fixed(r)).join(', ')})`;
}

function verdict(value: number, target: number, atLeast: boolean): string {
  if (!Number.isFinite(value)) return 'not measured';
  return (atLeast ? value >= target : value <= target) ? 'met' : '**not met**';
}

function runsBlock(rows: Row[], fields: string[]): string[] {
  return [
    `<details><summary>Every run (${fields.join(', ')})</summary>`,
    '',
    '```',
    ...rows.map((r) => fields.map((f) => r[f]).join(' ')),
    '```',
    '',
    '</details>',
  ];
}

function writeChart(name: string, chart: BarChart): string {
  writeFileSync(path.join(RESULTS_DIR, name), barChartSvg(chart));
  return `![${chart.title}](${name})`;
}

function header(title: string): string[] {
  return [`# ${title}`, '', process.env.HOP_ENVIRONMENT ?? '', '', process.env.HOP_SETTINGS ?? '', ''];
}

// ---------------------------------------------------------------------------------------------

function floorReport(rows: Row[]): { name: string; lines: string[] } {
  const lines = header('Proxying floor: direct, bare TCP relay, gateway with no middlewares');
  const cpuPerGb = (r: Row) => Number(r.cpu) / (Number(r.bytes) / 1e9);
  for (const r of rows) r.cpuPerGb = r.path === 'direct' ? NaN : cpuPerGb(r);
  lines.push(
    '| kind | path | records/s (median) | MB/s (median) | ratio to direct (median of rounds) | proxy CPU s per GB (median) |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  );
  for (const kind of ['produce', 'consume']) {
    for (const p of PATHS) {
      const runs = rows.filter((r) => r.kind === kind && r.path === p);
      const toDirect = roundRatios(rows, (r) => r.kind === kind, p, 'direct', 'rate');
      lines.push(
        `| ${kind} | ${NAMES[p]} | ${fixed(median(runs.map((r) => Number(r.rate))), 0)} | ${fixed(median(runs.map((r) => Number(r.mbs))), 1)} | ${p === 'direct' ? '' : fixed(median(toDirect))} | ${p === 'direct' ? '' : fixed(median(runs.map((r) => Number(r.cpuPerGb))))} |`,
      );
    }
  }
  const throughput = (kind: string) => roundRatios(rows, (r) => r.kind === kind, 'gateway', 'relay', 'rate');
  const cpu = (kind: string) => roundRatios(rows, (r) => r.kind === kind, 'gateway', 'relay', 'cpuPerGb');
  const produce = throughput('produce');
  const consume = throughput('consume');
  const cpuProduce = cpu('produce');
  const cpuConsume = cpu('consume');
  lines.push(
    '',
    '## Headline: what the gateway costs beyond the hop (gateway/relay within each round)',
    '',
    '| measure | gateway / bare relay | target | |',
    '| --- | --- | --- | --- |',
    `| produce records/s | ${ratioCell(produce)} | ≥ 0.97 | ${verdict(median(produce), 0.97, true)} |`,
    `| consume (fetch) records/s | ${ratioCell(consume)} | ≥ 0.97 | ${verdict(median(consume), 0.97, true)} |`,
    `| CPU s per GB, produce | ${ratioCell(cpuProduce)} | ≤ 1.3 | ${verdict(median(cpuProduce), 1.3, false)} |`,
    `| CPU s per GB, consume | ${ratioCell(cpuConsume)} | ≤ 1.3 | ${verdict(median(cpuConsume), 1.3, false)} |`,
    '',
    writeChart('relay-floor-throughput.svg', {
      title: 'Throughput per path (median run)',
      unit: 'MB/s',
      categories: ['produce', 'consume (fetch)'],
      series: PATHS.map((p) => ({
        name: NAMES[p],
        color: COLORS[p],
        values: ['produce', 'consume'].map((k) =>
          median(rows.filter((r) => r.kind === k && r.path === p).map((r) => Number(r.mbs))),
        ),
      })),
      note: 'ProducerPerformance / ConsumerPerformance, 1 KiB records; written by bench/relay-floor.sh',
    }),
    '',
    writeChart('relay-floor-cpu.svg', {
      title: 'Proxy CPU seconds per GB carried (median run)',
      unit: 'CPU s / GB',
      categories: ['produce', 'consume (fetch)'],
      series: ['relay', 'gateway'].map((p) => ({
        name: NAMES[p],
        color: COLORS[p],
        values: ['produce', 'consume'].map((k) =>
          median(rows.filter((r) => r.kind === k && r.path === p).map((r) => Number(r.cpuPerGb))),
        ),
      })),
      note: 'utime+stime of the proxy processes from /proc/<pid>/stat; written by bench/relay-floor.sh',
    }),
    '',
    ...runsBlock(rows, ['kind', 'path', 'round', 'rate', 'mbs', 'cpu', 'bytes']),
  );
  return { name: 'relay-floor', lines };
}

function smallReport(rows: Row[]): { name: string; lines: string[] } {
  const lines = header('Small records: requests per second through each path');
  for (const r of rows)
    r.cpuPerRecordUs = r.path === 'direct' ? NaN : (Number(r.cpu) / Number(r.records)) * 1e6;
  lines.push(
    '| path | records/s, all producers (median) | ratio to direct (median of rounds) | proxy CPU µs per record (median) |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const p of PATHS) {
    const runs = rows.filter((r) => r.path === p);
    lines.push(
      `| ${NAMES[p]} | ${fixed(median(runs.map((r) => Number(r.rate))), 0)} | ${p === 'direct' ? '' : fixed(median(roundRatios(rows, () => true, p, 'direct', 'rate')))} | ${p === 'direct' ? '' : fixed(median(runs.map((r) => Number(r.cpuPerRecordUs))), 1)} |`,
    );
  }
  const ratios = roundRatios(rows, () => true, 'gateway', 'relay', 'rate');
  const cpu = roundRatios(rows, () => true, 'gateway', 'relay', 'cpuPerRecordUs');
  lines.push(
    '',
    '## Headline',
    '',
    '| measure | gateway / bare relay | target | |',
    '| --- | --- | --- | --- |',
    `| records/s | ${ratioCell(ratios)} | ≥ 0.9 | ${verdict(median(ratios), 0.9, true)} |`,
    `| proxy CPU per record | ${ratioCell(cpu)} | | |`,
    '',
    writeChart('small-records.svg', {
      title: 'Small records: records/s per path (median run)',
      unit: 'records/s',
      categories: ['100 B records, linger.ms=0, acks=1'],
      series: PATHS.map((p) => ({
        name: NAMES[p],
        color: COLORS[p],
        values: [median(rows.filter((r) => r.path === p).map((r) => Number(r.rate)))],
      })),
      note: 'Sum over concurrent ProducerPerformance processes; written by bench/small-records.sh',
    }),
    '',
    ...runsBlock(rows, ['path', 'round', 'rate', 'cpu', 'records', 'producers']),
  );
  return { name: 'small-records', lines };
}

function latencyReport(rows: Row[]): { name: string; lines: string[] } {
  const lines = header('Latency at a fixed rate: direct, bare TCP relay, gateway');
  const percentiles = ['p50', 'p95', 'p99', 'p999'];
  const labels: Record<string, string> = { p50: 'p50', p95: 'p95', p99: 'p99', p999: 'p99.9' };
  const rates = [...new Set(rows.map((r) => Number(r.target)))];
  const headline: string[] = [];
  const charts: string[] = [];
  rates.forEach((rate, i) => {
    const atRate = rows.filter((r) => Number(r.target) === rate);
    lines.push(
      `## ${rate} records/s${i === 0 ? '' : ' (half of the direct maximum measured in this run)'}`,
      '',
      '| path | achieved records/s | avg ms | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | proxy CPU s |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const p of PATHS) {
      const runs = atRate.filter((r) => r.path === p);
      const m = (f: string, d = 0) => fixed(median(runs.map((r) => Number(r[f]))), d);
      lines.push(
        `| ${NAMES[p]} | ${m('rate')} | ${m('avg', 2)} | ${m('p50')} | ${m('p95')} | ${m('p99')} | ${m('p999')} | ${m('max')} | ${p === 'direct' ? '' : m('cpu', 2)} |`,
      );
    }
    const added = (p: string, f: string) => {
      const rounds = [...new Set(atRate.map((r) => Number(r.round)))];
      return rounds.map((round) => {
        const of = (q: string) => atRate.find((r) => r.path === q && r.round === round);
        return Number(of(p)?.[f]) - Number(of('direct')?.[f]);
      });
    };
    const cell = (values: number[]) =>
      `**${fixed(median(values), 1)} ms** (rounds: ${values.map((v) => fixed(v, 0)).join(', ')})`;
    lines.push(
      '',
      `Added over direct within each round, median: gateway p99 ${cell(added('gateway', 'p99'))}, p99.9 ${cell(added('gateway', 'p999'))}; relay p99 ${cell(added('relay', 'p99'))}.`,
      '',
    );
    if (i === 0) {
      const p99 = median(added('gateway', 'p99'));
      headline.push(
        `| gateway p99 − direct p99 at ${rate} records/s | ${cell(added('gateway', 'p99'))} | ≤ 1 ms | ${verdict(p99, 1, false)} |`,
      );
    }
    charts.push(
      writeChart(`latency-${i === 0 ? 'fixed' : 'half-max'}.svg`, {
        title: `Produce latency at ${rate} records/s (median of rounds)`,
        unit: 'ms',
        categories: percentiles.map((p) => labels[p]),
        series: PATHS.map((p) => ({
          name: NAMES[p],
          color: COLORS[p],
          values: percentiles.map((f) => median(atRate.filter((r) => r.path === p).map((r) => Number(r[f])))),
        })),
        note: 'ProducerPerformance --throughput, 1 KiB records; whole milliseconds; written by bench/latency.sh',
      }),
    );
  });
  lines.push(
    '## Headline',
    '',
    '| measure | measured | target | |',
    '| --- | --- | --- | --- |',
    ...headline,
    '',
    ...charts.flatMap((c) => [c, '']),
    ...runsBlock(rows, ['target', 'path', 'round', 'rate', 'avg', 'p50', 'p95', 'p99', 'p999', 'max', 'cpu']),
  );
  return { name: 'latency', lines };
}

const FIELDS: Record<string, string[]> = {
  floor: ['kind', 'path', 'round', 'rate', 'mbs', 'cpu', 'bytes'],
  small: ['path', 'round', 'rate', 'cpu', 'records', 'producers'],
  latency: ['target', 'path', 'round', 'rate', 'avg', 'p50', 'p95', 'p99', 'p999', 'max', 'cpu'],
};
const REPORTS = { floor: floorReport, small: smallReport, latency: latencyReport };

const [kind, runsFile] = process.argv.slice(2);
if (!(kind in REPORTS) || runsFile === undefined) {
  process.stderr.write('usage: hop-report.ts floor|small|latency RUNS-FILE\n');
  process.exit(2);
}
const report = REPORTS[kind as keyof typeof REPORTS](readRuns(runsFile, FIELDS[kind]));
const file = path.join(RESULTS_DIR, `${report.name}.md`);
writeFileSync(file, `${report.lines.join('\n')}\n`);
process.stdout.write(`${report.lines.join('\n')}\n`);
