import Ajv, { type FormatDefinition } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { addJsonFormats } from '../../../src/asyncapi/json-formats';
import { isDate, isDateTime, isStrictDateTime, isTime } from '../../../src/asyncapi/rfc3339';

const theirs = (name: 'date' | 'time' | 'date-time') =>
  (addFormats.get(name) as FormatDefinition<string>).validate as (text: string) => boolean;
const CHECKS = [
  { name: 'date', ours: isDate, theirs: theirs('date') },
  { name: 'time', ours: isTime, theirs: theirs('time') },
  { name: 'date-time', ours: isDateTime, theirs: theirs('date-time') },
] as const;

const twoDigits = fc.oneof(
  fc.integer({ min: 0, max: 99 }),
  fc.constantFrom(0, 23, 24, 29, 30, 31, 59, 60, 61),
);
const padded = (n: number, width: number) => String(n).padStart(width, '0');
const year = fc.oneof(fc.constantFrom(1900, 2000, 2023, 2024, 2100, 0), fc.integer({ min: 0, max: 9999 }));
const fraction = fc.oneof(
  fc.constant(''),
  fc.constant('.'),
  fc.stringMatching(/^\.[0-9]{1,4}$/),
  fc.integer({ min: 10, max: 24 }).map((n) => '.' + '9'.repeat(n)),
);
const zone = fc.oneof(
  fc.constantFrom(
    '',
    'Z',
    'z',
    'x',
    '+',
    '-',
    '+00',
    '+0',
    '+05:',
    '+05:3',
    '-0530',
    '+05:30',
    '-01:00',
    '+01',
  ),
  fc
    .tuple(fc.constantFrom('+', '-'), twoDigits, fc.constantFrom('', ':', '::'), fc.option(twoDigits))
    .map(([sign, h, colon, m]) => `${sign}${padded(h, 2)}${m === null ? '' : colon + padded(m, 2)}`),
);
const separator = fc.constantFrom(
  'T',
  't',
  ' ',
  '\t',
  '\n',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\ufeff',
  'x',
  '_',
  '',
  'TT',
  'T ',
);
const time = fc
  .tuple(twoDigits, twoDigits, twoDigits, fraction, zone)
  .map(([h, m, s, f, z]) => `${padded(h, 2)}:${padded(m, 2)}:${padded(s, 2)}${f}${z}`);
/** Times around a leap second in UTC, where the offset decides: the rare corner a random time misses. */
const nearLeapSecond = fc
  .tuple(
    fc.constantFrom(0, 1, 22, 23, 24),
    fc.constantFrom(0, 1, 58, 59, 60),
    fc.constantFrom('59', '60', '60.5', '61', '59.' + '9'.repeat(20)),
    fc.constantFrom(
      'Z',
      '+00:00',
      '-00:01',
      '+00:01',
      '+01:00',
      '-01:00',
      '+01:01',
      '-23:59',
      '+23:59',
      '+0001',
    ),
  )
  .map(([h, m, s, z]) => `${padded(h, 2)}:${padded(m, 2)}:${s}${z}`);
const date = fc
  .tuple(year, fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
  .map(([y, m, d]) => `${padded(y, 4)}-${padded(m, 2)}-${padded(d, 2)}`);
const dateTime = fc.tuple(date, separator, fc.oneof(time, nearLeapSecond)).map(([d, s, t]) => d + s + t);
/** A string near a timestamp: characters dropped, doubled, swapped for others of the grammar. */
const mutated = fc
  .tuple(
    fc.oneof(dateTime, date, time, nearLeapSecond),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom('drop', 'double', 'replace'),
        fc.constantFrom(...'09-:.TtZz+ \u00a0x5'),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([text, edits]) =>
    edits.reduce((s, [at, edit, c]) => {
      if (s.length === 0) return c;
      const i = at % s.length;
      if (edit === 'drop') return s.slice(0, i) + s.slice(i + 1);
      if (edit === 'double') return s.slice(0, i) + s[i] + s.slice(i);
      return s.slice(0, i) + c + s.slice(i + 1);
    }, text),
  );
/** Date-times in the shape RFC 3339 itself allows, fields in and out of range. */
const rfc3339Shaped = fc
  .tuple(
    date,
    fc.constantFrom('T', 't'),
    fc.oneof(time, nearLeapSecond),
    fc.constantFrom('Z', 'z', '+05:30', '-00:00', '+23:59', '+24:00', '-01:60'),
  )
  .map(
    ([d, s, t, z]) =>
      d + s + t.slice(0, 8) + (t[8] === '.' ? (/^\.\d+/.exec(t.slice(8))?.[0] ?? '') : '') + z,
  );
const anyText = fc.oneof(
  dateTime,
  date,
  time,
  nearLeapSecond,
  mutated,
  fc.string({ unit: fc.constantFrom(...'0123456789-:.TtZz+ \t'), maxLength: 32 }),
  fc.string(),
);

describe('RFC 3339 dates and times, read in place', () => {
  it.each(CHECKS)('$name gives the verdict of ajv-formats on every string', ({ ours, theirs }) => {
    fc.assert(
      fc.property(anyText, (text) => ours(text) === theirs(text)),
      { numRuns: 20_000 },
    );
  });

  it('accepts what the grammar allows and refuses what it does not', () => {
    const valid = [
      '2024-02-29T12:00:00Z',
      '2000-02-29t00:00:00.5z',
      '2024-01-01 23:59:59+05',
      '2024-01-01T23:59:59-0530',
      '2024-01-01T23:59:59.123456789+05:30',
      '2016-12-31T23:59:60Z',
      '2017-01-01T00:59:60+01:00',
      '2017-01-01T00:00:60+00:01',
      '2024-01-01\u00a012:00:00Z',
    ];
    const invalid = [
      '2023-02-29T12:00:00Z',
      '1900-02-29T12:00:00Z',
      '2024-04-31T12:00:00Z',
      '2024-01-01T12:00:00',
      '2024-01-01T24:00:00Z',
      '2016-12-31T23:59:60+01:00',
      '2016-12-31T23:59:61Z',
      '2024-01-01T12:00:00.Z',
      '2024-01-01T12:00:00+05:',
      '2024-01-01T12:00:00+24:00',
      '2024-01-01TT12:00:00Z',
      '2024-01-01T12:00:00Z\n',
      '٢٠٢٤-01-01T12:00:00Z',
      '',
    ];
    for (const text of valid) expect([text, isDateTime(text)]).toEqual([text, true]);
    for (const text of invalid) expect([text, isDateTime(text)]).toEqual([text, false]);
  });

  it('reads RFC 3339 strictly for CloudEvents: what it accepts, contracts accept too, but for leap seconds at any hour', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(rfc3339Shaped, anyText), (text) => {
        if (!isStrictDateTime(text)) return true;
        accepted++;
        // Seconds that read as 60 (also 59.999… past a double's precision) are a leap second.
        const seconds = Number(/^\d\d(\.\d+)?/.exec(text.slice(17))![0]);
        return seconds >= 60 || isDateTime(text);
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(1_000);
    expect(isStrictDateTime('2020-02-29t12:00:60.5z')).toBe(true);
    expect(isDateTime('2020-02-29t12:00:60.5z')).toBe(false);
    for (const text of ['2024-01-01 12:00:00Z', '2024-01-01T12:00:00+05', '2024-01-01T12:00:00+0530'])
      expect([text, isStrictDateTime(text), isDateTime(text)]).toEqual([text, false, true]);
  });

  it("keeps ajv-formats' comparisons for formatMinimum and formatMaximum", () => {
    const ajv = addJsonFormats(new Ajv());
    // The contract validator's Ajv checks timestamps with the readers above, not the regexes.
    for (const [name, reader] of [
      ['date', isDate],
      ['time', isTime],
      ['date-time', isDateTime],
    ] as const)
      expect((ajv.formats[name] as FormatDefinition<string>).validate).toBe(reader);
    const validate = ajv.compile({
      type: 'string',
      format: 'date-time',
      formatMinimum: '2024-01-01T00:00:00Z',
    });
    expect(validate('2024-06-01T00:00:00Z')).toBe(true);
    expect(validate('2023-06-01T00:00:00Z')).toBe(false);
    expect(validate('2024-06-31T00:00:00Z')).toBe(false);
  });
});
