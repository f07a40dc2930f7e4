import { createLogger } from '../../../src/observability/logger';
import { RateLimitedLog } from '../../../src/observability/rate-limited-log';
import { CapturedLogs } from '../../support/captured-logs';

test('a flood of one warning is one line, and the next line says how many were held back', async () => {
  const logs = new CapturedLogs();
  const log = new RateLimitedLog(createLogger('info', logs), 50);
  for (let i = 0; i < 1_000; i++) log.warn('no-broker', { i }, 'no broker reachable for client');
  expect(logs.lines).toHaveLength(1);
  await new Promise((resolve) => setTimeout(resolve, 60));
  log.warn('no-broker', {}, 'no broker reachable for client');
  expect(logs.lines).toHaveLength(2);
  expect(logs.lines[1].suppressedSinceLast).toBe(999);
});
