/**
 * Conformance of the event-pattern matcher with Amazon EventBridge content filtering: each row is
 * a pattern, an event and whether EventBridge matches it. The awkward corners are the point:
 * numbers against numeric text, null against "" and missing fields, arrays of scalars and of
 * objects, anything-but meeting other types, escapes in wildcards, both IP families.
 */
import { compileEventPattern, PatternError } from '../../../src/patterns/event-pattern';
import { compileRecordPattern, recordEvent } from '../../../src/patterns/record-event';
import { readJson } from '../../../src/patterns/record-json';

type Row = [description: string, pattern: object, event: unknown, matches: boolean];

const EC2 = {
  source: 'aws.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  time: '2017-10-02T16:24:49Z',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
    nothing: null,
    empty: '',
    flags: [],
  },
};

const conformance: Record<string, Row[]> = {
  'exact values': [
    ['a string in the list', { source: ['aws.ec2'] }, EC2, true],
    ['one of several values', { detail: { state: ['pending', 'running'] } }, EC2, true],
    ['no value in the list', { detail: { state: ['pending', 'stopped'] } }, EC2, false],
    ['case matters', { source: ['AWS.EC2'] }, EC2, false],
    ['every field must match (and)', { source: ['aws.ec2'], detail: { state: ['stopped'] } }, EC2, false],
    ['a number', { detail: { 'c-count': [5] } }, EC2, true],
    ['a number written differently', { detail: { 'x-limit': [3.018e2] } }, EC2, true],
    ['numeric text is not a number', { detail: { 'c-count': ['5'] } }, EC2, false],
    ['a number is not numeric text', { v: [5] }, { v: '5' }, false],
    ['true', { v: [true] }, { v: true }, true],
    ['true is not "true"', { v: [true] }, { v: 'true' }, false],
    ['false is not missing', { v: [false] }, {}, false],
    ['null matches null', { detail: { nothing: [null] } }, EC2, true],
    ['null does not match ""', { detail: { nothing: [''] } }, EC2, false],
    ['"" matches ""', { detail: { empty: [''] } }, EC2, true],
    ['"" does not match null', { detail: { empty: [null] } }, EC2, false],
    ['null does not match a missing field', { detail: { absent: [null] } }, EC2, false],
    ['a value does not match an object', { detail: ['running'] }, EC2, false],
    ['a field whose value is an object has no leaves', { v: [{ exists: true }] }, { v: { a: 1 } }, false],
    ['unknown fields of the event are ignored', { source: ['aws.ec2'] }, { ...EC2, extra: { x: 1 } }, true],
    ['a pattern key named like a prototype property', { constructor: ['x'] }, {}, false],
    ['an own __proto__ key', { ['__proto__']: ['x'] }, JSON.parse('{"__proto__": "x"}'), true],
  ],
  arrays: [
    ['an array matches when one element does', { resources: [{ prefix: 'arn:aws:ec2' }] }, EC2, true],
    ['array against list: any intersection', { tags: ['b', 'z'] }, { tags: ['a', 'b', 'c'] }, true],
    ['array against list: no intersection', { tags: ['y', 'z'] }, { tags: ['a', 'b', 'c'] }, false],
    ['nested arrays are flattened', { tags: ['c'] }, { tags: [['a'], [['b', 'c']]] }, true],
    ['an empty array has no leaves', { detail: { flags: [{ exists: true }] } }, EC2, false],
    ['an empty array counts as missing', { detail: { flags: [{ exists: false }] } }, EC2, true],
    ['null inside an array', { tags: [null] }, { tags: ['a', null] }, true],
    [
      'arrays of objects: a nested pattern meets each element',
      { employees: { firstName: ['Anna'] } },
      { employees: [{ firstName: 'John' }, { firstName: 'Anna' }] },
      true,
    ],
    [
      'arrays of objects: fields matched together come from one element',
      { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
      {
        employees: [
          { firstName: 'Anna', lastName: 'Smith' },
          { firstName: 'Peter', lastName: 'Jones' },
        ],
      },
      false,
    ],
    [
      'arrays of objects: both fields in the same element',
      { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
      {
        employees: [
          { firstName: 'Anna', lastName: 'Smith' },
          { firstName: 'Peter', lastName: 'Jones' },
        ],
      },
      true,
    ],
    [
      'arrays of arrays of objects',
      { employees: { firstName: ['Peter'] } },
      { employees: [[{ firstName: 'John' }], [{ firstName: 'Peter' }]] },
      true,
    ],
    [
      'objects in an array at a leaf position are not leaves',
      { tags: [{ exists: true }] },
      { tags: [{ a: 1 }] },
      false,
    ],
  ],
  'nested objects': [
    ['two levels', { a: { b: { c: ['x'] } } }, { a: { b: { c: 'x' } } }, true],
    ['a missing intermediate object', { a: { b: ['x'] } }, { c: 1 }, false],
    ['a scalar where an object was expected', { a: { b: ['x'] } }, { a: 'x' }, false],
    ['exists false below a missing object', { a: { b: [{ exists: false }] } }, {}, true],
    ['exists false below a scalar', { a: { b: [{ exists: false }] } }, { a: 'x' }, true],
    ['exists true on a nested leaf', { a: { b: [{ exists: true }] } }, { a: { b: 0 } }, true],
    ['exists true on a nested null', { a: { b: [{ exists: true }] } }, { a: { b: null } }, true],
    [
      'exists false on a nested object field',
      { a: { b: [{ exists: false }] } },
      { a: { b: { c: 1 } } },
      true,
    ],
    ['exists true is false for a missing nested field', { a: { b: [{ exists: true }] } }, { a: {} }, false],
    ['dots in keys are not paths', { 'a.b': ['x'] }, { a: { b: 'x' } }, false],
    ['keys with dots match literally', { 'a.b': ['x'] }, { 'a.b': 'x' }, true],
  ],
  prefix: [
    ['matches the start', { time: [{ prefix: '2017-10-02' }] }, EC2, true],
    ['does not match elsewhere', { time: [{ prefix: '10-02' }] }, EC2, false],
    ['strings only', { detail: { 'c-count': [{ prefix: '5' }] } }, EC2, false],
    ['the empty prefix matches any string', { v: [{ prefix: '' }] }, { v: 'x' }, true],
    ['the empty prefix does not match null', { v: [{ prefix: '' }] }, { v: null }, false],
    ['ignoring case', { source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] }, EC2, true],
  ],
  suffix: [
    ['matches the end', { v: [{ suffix: '.png' }] }, { v: 'image.png' }, true],
    ['is case-sensitive', { v: [{ suffix: '.png' }] }, { v: 'image.PNG' }, false],
    ['ignoring case', { v: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { v: 'image.PNG' }, true],
    ['strings only', { v: [{ suffix: '1' }] }, { v: 1 }, false],
  ],
  'equals-ignore-case': [
    ['any casing', { v: [{ 'equals-ignore-case': 'alice' }] }, { v: 'ALIce' }, true],
    ['not a prefix', { v: [{ 'equals-ignore-case': 'alice' }] }, { v: 'alice2' }, false],
    ['non-ASCII letters', { v: [{ 'equals-ignore-case': 'ÉTÉ' }] }, { v: 'été' }, true],
    ['strings only', { v: [{ 'equals-ignore-case': 'true' }] }, { v: true }, false],
  ],
  wildcard: [
    ['a star in the middle', { v: [{ wildcard: 'Simple*Service' }] }, { v: 'SimpleQueueService' }, true],
    ['a star matches nothing too', { v: [{ wildcard: 'Simple*Service' }] }, { v: 'SimpleService' }, true],
    ['anchored at both ends', { v: [{ wildcard: 'Simple*Service' }] }, { v: 'SimpleQueueServices' }, false],
    ['several stars', { v: [{ wildcard: '*/lib/*.js' }] }, { v: 'src/lib/a/b.js' }, true],
    ['pieces in order', { v: [{ wildcard: '*b*a*' }] }, { v: 'ab' }, false],
    ['pieces may not overlap', { v: [{ wildcard: 'ab*ba' }] }, { v: 'aba' }, false],
    ['a lone star matches any string', { v: [{ wildcard: '*' }] }, { v: '' }, true],
    ['a lone star does not match numbers', { v: [{ wildcard: '*' }] }, { v: 7 }, false],
    ['no star: exact', { v: [{ wildcard: 'abc' }] }, { v: 'abc' }, true],
    ['an escaped star is literal', { v: [{ wildcard: 'a\\*b' }] }, { v: 'a*b' }, true],
    ['an escaped star is not a wildcard', { v: [{ wildcard: 'a\\*b' }] }, { v: 'axb' }, false],
    ['an escaped backslash', { v: [{ wildcard: 'a\\\\*' }] }, { v: 'a\\anything' }, true],
    ['an escaped backslash needs the backslash', { v: [{ wildcard: 'a\\\\*' }] }, { v: 'a/x' }, false],
    ['a literal star next to a wildcard', { v: [{ wildcard: '\\**' }] }, { v: '*rest' }, true],
  ],
  'anything-but': [
    ['a different string', { detail: { state: [{ 'anything-but': 'initializing' }] } }, EC2, true],
    ['the excluded string', { detail: { state: [{ 'anything-but': 'running' }] } }, EC2, false],
    ['a list of strings', { detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } }, EC2, false],
    ['a number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, EC2, true],
    ['a list of numbers', { detail: { 'c-count': [{ 'anything-but': [1, 5] }] } }, EC2, false],
    ['a number passes anything-but of strings', { v: [{ 'anything-but': ['5'] }] }, { v: 5 }, true],
    ['numeric text passes anything-but of numbers', { v: [{ 'anything-but': [5] }] }, { v: '5' }, true],
    ['null passes anything-but of strings', { v: [{ 'anything-but': 'x' }] }, { v: null }, true],
    ['a missing field does not match', { v: [{ 'anything-but': 'x' }] }, {}, false],
    ['an object-valued field does not match', { v: [{ 'anything-but': 'x' }] }, { v: { a: 1 } }, false],
    [
      'an array: one element not excluded is enough',
      { v: [{ 'anything-but': 'a' }] },
      { v: ['a', 'b'] },
      true,
    ],
    ['an array of excluded values only', { v: [{ 'anything-but': ['a', 'b'] }] }, { v: ['a', 'b'] }, false],
    ['prefix', { v: [{ 'anything-but': { prefix: 'us-' } }] }, { v: 'eu-west-1' }, true],
    ['prefix excluded', { v: [{ 'anything-but': { prefix: 'us-' } }] }, { v: 'us-east-1' }, false],
    ['prefix lets numbers through', { v: [{ 'anything-but': { prefix: '1' } }] }, { v: 12 }, true],
    ['suffix', { v: [{ 'anything-but': { suffix: '.png' } }] }, { v: 'a.jpg' }, true],
    ['suffix excluded', { v: [{ 'anything-but': { suffix: '.png' } }] }, { v: 'a.png' }, false],
    [
      'equals-ignore-case',
      { v: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
      { v: 'INITIALIZING' },
      false,
    ],
    [
      'equals-ignore-case list',
      { v: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] },
      { v: 'C' },
      true,
    ],
    ['wildcard', { v: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { v: 'src/lib/x' }, false],
    ['wildcard not matching', { v: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { v: 'src/bin/x' }, true],
    ['wildcard list', { v: [{ 'anything-but': { wildcard: ['a*', 'b*'] } }] }, { v: 'bcd' }, false],
  ],
  numeric: [
    ['a range', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, EC2, true],
    ['the open end of a range', { detail: { 'c-count': [{ numeric: ['>', 0, '<', 5] }] } }, EC2, false],
    ['the closed start of a range', { v: [{ numeric: ['>=', 0, '<', 5] }] }, { v: 0 }, true],
    ['the open start of a range', { v: [{ numeric: ['>', 0, '<', 5] }] }, { v: 0 }, false],
    ['less than', { detail: { 'd-count': [{ numeric: ['<', 10] }] } }, EC2, true],
    ['less than or equal', { v: [{ numeric: ['<=', 10] }] }, { v: 10 }, true],
    ['greater than', { v: [{ numeric: ['>', 10] }] }, { v: 10 }, false],
    ['greater than or equal', { v: [{ numeric: ['>=', 10] }] }, { v: 10 }, true],
    ['equals', { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, EC2, true],
    ['equals: 5 and 5.0 are the same number', { v: [{ numeric: ['=', 5] }] }, { v: 5.0 }, true],
    ['negative numbers and exponents', { v: [{ numeric: ['<', -1e3] }] }, { v: -1001 }, true],
    ['numeric text does not match', { v: [{ numeric: ['>', 0] }] }, { v: '5' }, false],
    ['null does not match', { v: [{ numeric: ['<', 1] }] }, { v: null }, false],
    ['booleans do not match', { v: [{ numeric: ['<', 2] }] }, { v: true }, false],
    ['an array with one number in range', { v: [{ numeric: ['>', 10] }] }, { v: [1, 'x', 20] }, true],
    ['missing does not match', { v: [{ numeric: ['>', 0] }] }, {}, false],
  ],
  exists: [
    ['true on a present field', { detail: { 'c-count': [{ exists: true }] } }, EC2, true],
    ['true on a missing field', { detail: { absent: [{ exists: true }] } }, EC2, false],
    ['false on a missing field', { detail: { absent: [{ exists: false }] } }, EC2, true],
    ['false on a present field', { detail: { 'c-count': [{ exists: false }] } }, EC2, false],
    ['true on null', { detail: { nothing: [{ exists: true }] } }, EC2, true],
    ['true on ""', { detail: { empty: [{ exists: true }] } }, EC2, true],
    ['false on an intermediate object (only leaves exist)', { detail: [{ exists: false }] }, EC2, true],
    ['true on an intermediate object', { detail: [{ exists: true }] }, EC2, false],
    ['in a list with a value: missing', { v: ['x', { exists: false }] }, {}, true],
    ['in a list with a value: the value', { v: ['x', { exists: false }] }, { v: 'x' }, true],
    ['in a list with a value: another value', { v: ['x', { exists: false }] }, { v: 'y' }, false],
    [
      'false inside an array of objects holds per element',
      { items: { discount: [{ exists: false }] } },
      { items: [{ discount: 5 }, { sku: 'a' }] },
      true,
    ],
  ],
  cidr: [
    ['an IPv4 address inside', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, EC2, true],
    ['an IPv4 address outside', { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } }, EC2, false],
    ['a /32 block', { ip: [{ cidr: '192.168.1.7/32' }] }, { ip: '192.168.1.7' }, true],
    ['a /0 block matches every IPv4 address', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '8.8.8.8' }, true],
    ['an IPv6 address inside', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:1234::1' }, true],
    [
      'an IPv6 address in its long form',
      { ip: [{ cidr: '2001:db8::/32' }] },
      { ip: '2001:0db8:0:0:0:0:0:1' },
      true,
    ],
    ['an IPv6 address outside', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' }, false],
    ['an IPv6 address against an IPv4 block', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '::1' }, false],
    ['an IPv4 address against an IPv6 block', { ip: [{ cidr: '::/0' }] }, { ip: '10.0.0.1' }, false],
    ['text that is not an address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '10.0.0.x' }, false],
    ['a number', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 10 }, false],
  ],
  $or: [
    [
      'one branch matches',
      { source: ['aws.ec2'], $or: [{ detail: { state: ['stopped'] } }, { detail: { 'c-count': [5] } }] },
      EC2,
      true,
    ],
    [
      'no branch matches',
      { $or: [{ detail: { state: ['stopped'] } }, { detail: { 'c-count': [6] } }] },
      EC2,
      false,
    ],
    [
      'and outside the $or still applies',
      { source: ['other'], $or: [{ time: [{ exists: true }] }, { a: ['b'] }] },
      EC2,
      false,
    ],
    [
      'inside a nested object',
      { detail: { $or: [{ state: ['stopped'] }, { 'instance-id': [{ prefix: 'i-' }] }] } },
      EC2,
      true,
    ],
    [
      'nested $or in a branch',
      {
        $or: [
          { source: ['other'] },
          { source: ['aws.ec2'], $or: [{ detail: { state: ['stopped'] } }, { detail: { 'd-count': [3] } }] },
        ],
      },
      EC2,
      true,
    ],
    [
      'nested $or in a branch, no inner match',
      {
        $or: [
          { source: ['other'] },
          { source: ['aws.ec2'], $or: [{ detail: { state: ['stopped'] } }, { detail: { 'd-count': [4] } }] },
        ],
      },
      EC2,
      false,
    ],
    [
      'two $or groups in parallel (both must hold)',
      {
        $or: [{ source: ['aws.ec2'] }, { source: ['aws.s3'] }],
        detail: { $or: [{ state: ['stopped'] }, { state: ['pending'] }] },
      },
      EC2,
      false,
    ],
    [
      'branches over an array of objects keep to one element',
      { items: { sku: ['a'], $or: [{ qty: [2] }, { gift: [true] }] } },
      {
        items: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 2, gift: true },
        ],
      },
      false,
    ],
    ['a branch with exists false', { $or: [{ a: [{ exists: false }] }, { a: ['x'] }] }, { a: 'y' }, false],
  ],
};

describe.each(Object.entries(conformance))('%s', (_, rows) => {
  test.each(rows)('%s', (_description, pattern, event, expected) => {
    expect(compileEventPattern(pattern).matches(event)).toBe(expected);
  });
});

describe('invalid patterns are refused with where and why', () => {
  const invalid: [pattern: unknown, path: string, reason: RegExp][] = [
    ['not an object', '', /a pattern is a JSON object/],
    [['a'], '', /a pattern is a JSON object/],
    [{}, '', /empty object/],
    [{ a: {} }, 'a', /empty object/],
    [{ a: 'x' }, 'a', /values always go in a list: \["x"\]/],
    [{ a: 5 }, 'a', /values always go in a list: \[5\]/],
    [{ a: [] }, 'a', /empty list/],
    [{ a: [['x']] }, 'a[0]', /not lists/],
    [{ a: [{}] }, 'a[0]', /empty match expression/],
    [{ a: [{ prefix: 'x', suffix: 'y' }] }, 'a[0]', /exactly one operator/],
    [{ a: [{ contains: 'x' }] }, 'a[0]', /unknown operator "contains"/],
    [{ a: [{ prefix: 5 }] }, 'a[0].prefix', /takes a string or \{"equals-ignore-case": string\}/],
    [{ a: [{ suffix: { other: 'x' } }] }, 'a[0].suffix', /equals-ignore-case/],
    [{ a: [{ 'equals-ignore-case': ['x'] }] }, 'a[0].equals-ignore-case', /takes a string/],
    [{ a: [{ exists: 'true' }] }, 'a[0].exists', /true or false/],
    [{ a: [{ wildcard: 'a**b' }] }, 'a[0].wildcard', /consecutive \*/],
    [{ a: [{ wildcard: 'a\\b' }] }, 'a[0].wildcard', /escapes only \* or \\/],
    [{ a: [{ wildcard: 'ab\\' }] }, 'a[0].wildcard', /lone backslash/],
    [{ a: [{ wildcard: 7 }] }, 'a[0].wildcard', /takes a string/],
    [{ a: [{ numeric: '>5' }] }, 'a[0].numeric', /numeric takes/],
    [{ a: [{ numeric: ['>'] }] }, 'a[0].numeric', /numeric takes/],
    [{ a: [{ numeric: ['>', '5'] }] }, 'a[0].numeric[1]', /needs a number/],
    [{ a: [{ numeric: ['!=', 5] }] }, 'a[0].numeric[0]', /is not one of =, <, <=, >, >=/],
    [{ a: [{ numeric: ['<', 5, '>', 0] }] }, 'a[0].numeric', /lower bound .* followed by an upper bound/],
    [{ a: [{ numeric: ['=', 5, '<', 6] }] }, 'a[0].numeric', /lower bound/],
    [{ a: [{ numeric: ['>', 5, '<', 5] }] }, 'a[0].numeric', /empty/],
    [{ a: [{ numeric: ['>=', 6, '<=', 5] }] }, 'a[0].numeric', /empty/],
    [{ a: [{ 'anything-but': [] }] }, 'a[0].anything-but', /non-empty/],
    [{ a: [{ 'anything-but': ['x', 1] }] }, 'a[0].anything-but', /all strings or all numbers/],
    [{ a: [{ 'anything-but': [null] }] }, 'a[0].anything-but', /no null/],
    [{ a: [{ 'anything-but': true }] }, 'a[0].anything-but', /takes a string, a number, a list/],
    [{ a: [{ 'anything-but': { prefix: '' } }] }, 'a[0].anything-but.prefix', /exclude every string/],
    [{ a: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'a[0].anything-but', /does not take "numeric"/],
    [{ a: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] }, 'a[0].anything-but', /takes one of/],
    [{ a: [{ 'anything-but': { wildcard: ['a', 'b**'] } }] }, 'a[0].anything-but.wildcard[1]', /consecutive/],
    [{ a: [{ cidr: '10.0.0.0' }] }, 'a[0].cidr', /not a CIDR block/],
    [{ a: [{ cidr: '10.0.0/8' }] }, 'a[0].cidr', /not a CIDR block/],
    [{ a: [{ cidr: '10.0.0.0/33' }] }, 'a[0].cidr', /0 to 32/],
    [{ a: [{ cidr: '2001:db8::/129' }] }, 'a[0].cidr', /0 to 128/],
    [{ a: [{ cidr: '10.0.0.0/x' }] }, 'a[0].cidr', /0 to 32/],
    [{ $or: [{ a: ['x'] }] }, '$or', /at least two patterns/],
    [{ $or: { a: ['x'] } }, '$or', /at least two patterns/],
    [{ $or: [{ a: ['x'] }, 'b'] }, '$or[1]', /each \$or branch is an object/],
    [{ $or: [{ a: ['x'] }, { prefix: ['b'] }] }, '$or[1].prefix', /is an operator, not a field/],
    [{ b: { $or: [{ a: ['x'] }, { c: { numeric: [1] } }] } }, 'b.$or[1].c.numeric', /is an operator/],
    [{ 'odd key': 'x' }, '["odd key"]', /must be a list/],
  ];

  test.each(invalid)('%j', (pattern, path, reason) => {
    let error: unknown;
    try {
      compileEventPattern(pattern);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PatternError);
    expect((error as PatternError).path).toBe(path);
    expect((error as PatternError).reason).toMatch(reason);
    expect((error as PatternError).message).toBe(
      path === '' ? (error as PatternError).reason : `${path}: ${(error as PatternError).reason}`,
    );
  });

  test('nesting is bounded', () => {
    let pattern: Record<string, unknown> = { leaf: ['x'] };
    for (let i = 0; i < 40; i++) pattern = { n: pattern };
    expect(() => compileEventPattern(pattern)).toThrow(/nest at most 32 levels/);
  });

  test('infinite numbers (possible from YAML) are refused', () => {
    expect(() => compileEventPattern({ a: [Infinity] })).toThrow(PatternError);
    expect(() => compileEventPattern({ a: [{ numeric: ['<', Infinity] }] })).toThrow(/needs a number/);
  });
});

describe('deeply nested events', () => {
  test('arrays nested far deeper than the stack allows are matched without recursion', () => {
    let value: unknown = ['needle'];
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(compileEventPattern({ v: ['needle'] }).matches({ v: value })).toBe(true);
    expect(compileEventPattern({ v: { a: ['x'] } }).matches({ v: value })).toBe(false);
  });
});

describe('record patterns', () => {
  const record = (value: string | null, key: string | null, headers: [string, string | null][]) =>
    recordEvent(
      {
        key: key === null ? null : Buffer.from(key),
        value: () => readJson(value === null ? null : Buffer.from(value), 'value'),
        headers: () => headers.map(([name, v]) => [name, v === null ? null : Buffer.from(v)] as const),
      },
      new Set(['value', 'key', 'headers']),
    );

  test('top-level keys are value, key and headers', () => {
    expect(() => compileRecordPattern({ valeu: { a: ['x'] } })).toThrow(
      'valeu: not a part of the event: a pattern matches value, key, headers',
    );
    expect(() => compileRecordPattern({ $or: [{ value: ['x'] }, { body: ['y'] }] })).toThrow(
      /body: not a part/,
    );
    expect(compileRecordPattern({ $or: [{ value: ['x'] }, { key: ['y'] }] }).fields).toEqual(
      new Set(['value', 'key']),
    );
  });

  test('the value is parsed JSON; not JSON is missing; a tombstone is null', () => {
    const type = compileRecordPattern({ value: { type: ['order'] } });
    expect(type.matches(record('{"type":"order"}', null, []))).toBe(true);
    expect(type.matches(record('{"type":"refund"}', null, []))).toBe(false);
    const absent = compileRecordPattern({ value: [{ exists: false }] });
    expect(absent.matches(record('not json', null, []))).toBe(true);
    expect(absent.matches(record('{}', null, []))).toBe(true); // an object has no leaves
    expect(absent.matches(record('"text"', null, []))).toBe(false);
    expect(compileRecordPattern({ value: [null] }).matches(record(null, null, []))).toBe(true);
    expect(compileRecordPattern({ value: [42] }).matches(record('42', null, []))).toBe(true);
  });

  test('the key is text, never a number; no key is null', () => {
    expect(compileRecordPattern({ key: ['42'] }).matches(record('{}', '42', []))).toBe(true);
    expect(compileRecordPattern({ key: [42] }).matches(record('{}', '42', []))).toBe(false);
    expect(compileRecordPattern({ key: [{ numeric: ['>', 1] }] }).matches(record('{}', '42', []))).toBe(
      false,
    );
    expect(compileRecordPattern({ key: [null] }).matches(record('{}', null, []))).toBe(true);
    expect(compileRecordPattern({ key: [{ prefix: 'user-' }] }).matches(record('{}', 'user-7', []))).toBe(
      true,
    );
  });

  test('headers are text; a repeated header is a list; a null value is null', () => {
    const event = record('{}', null, [
      ['env', 'test'],
      ['tag', 'a'],
      ['tag', 'b'],
      ['empty', null],
      ['__proto__', 'p'],
    ]);
    expect(compileRecordPattern({ headers: { env: ['test'] } }).matches(event)).toBe(true);
    expect(compileRecordPattern({ headers: { tag: ['b'] } }).matches(event)).toBe(true);
    expect(compileRecordPattern({ headers: { tag: [{ 'anything-but': ['a', 'b'] }] } }).matches(event)).toBe(
      false,
    );
    expect(compileRecordPattern({ headers: { empty: [null] } }).matches(event)).toBe(true);
    expect(compileRecordPattern({ headers: { missing: [{ exists: false }] } }).matches(event)).toBe(true);
    expect(compileRecordPattern(JSON.parse('{"headers": {"__proto__": ["p"]}}')).matches(event)).toBe(true);
  });
});
