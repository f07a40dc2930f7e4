import { tapFrom } from '../../../src/tap/tap-from';

describe('tapFrom', () => {
  it('reads earliest, and ISO 8601 dates and times', () => {
    expect(tapFrom(null)).toEqual({ from: null });
    expect(tapFrom('earliest')).toEqual({ from: { earliest: true } });
    expect(tapFrom('2024-05-01T10:00:00Z')).toEqual({ from: { timestamp: Date.UTC(2024, 4, 1, 10) } });
    expect(tapFrom('2024-05-01T12:00:00.250+02:00')).toEqual({
      from: { timestamp: Date.UTC(2024, 4, 1, 10, 0, 0, 250) },
    });
    expect(tapFrom('2024-05-01')).toEqual({ from: { timestamp: Date.UTC(2024, 4, 1) } });
    expect(tapFrom('1970-01-01T00:00:00Z')).toEqual({ from: { timestamp: 0 } });
  });

  it.each([
    '',
    'latest',
    'yesterday',
    '1700000000000',
    '2024-13-45T00:00:00Z',
    'May 1, 2024',
    '2024-05-01T10:00:00Z\r\nx',
    // Kafka would read -1 and -2 as its "latest" and "earliest" codes.
    '1969-12-31T23:59:59.999Z',
    '1969-12-31T23:59:59.998Z',
    '0001-01-01',
  ])('refuses %j with one line naming the forms it takes', (raw) => {
    const result = tapFrom(raw);
    expect(result).toEqual({ error: expect.stringMatching(/^from must be 'earliest' or an ISO 8601 time/) });
    expect((result as { error: string }).error).not.toMatch(/[\r\n]/);
  });

  it('repeats only the start of a long value', () => {
    const { error } = tapFrom('x'.repeat(10_000)) as { error: string };
    expect(error.length).toBeLessThan(200);
  });
});
