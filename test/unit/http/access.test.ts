import { AccessControl } from '../../../src/http/access';

const tokens = [
  { name: 'ops', role: 'admin' as const, token: 'admin-token-0123456789' },
  { name: 'grafana', role: 'read' as const, token: 'read-token-0123456789' },
];

describe('AccessControl', () => {
  const access = new AccessControl(tokens);

  test('names the caller by its token, never by the token itself', () => {
    expect(access.identify('admin-token-0123456789')).toEqual({ name: 'ops', role: 'admin' });
    expect(access.identify('read-token-0123456789')).toEqual({ name: 'grafana', role: 'read' });
  });

  test.each([
    undefined,
    null,
    '',
    'admin-token-012345678',
    'admin-token-01234567890',
    'x'.repeat(100_000),
    '\u0000',
  ])('refuses %p', (sent) => {
    expect(access.identify(sent)).toBeNull();
  });

  test('with no token configured, every caller is an anonymous admin', () => {
    const open = new AccessControl([]);
    expect(open.open).toBe(true);
    expect(open.identify(undefined)).toEqual({ name: 'anonymous', role: 'admin' });
  });
});
