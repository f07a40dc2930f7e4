import { uniqueTopic } from './kafka-harness';

/**
 * A state topic of the test's own. Gateways in production share one per fleet; tests that do
 * not test sharing must not see each other's uploads (nor those of earlier runs on the same broker).
 */
export function isolatedState(): { topic: string } {
  return { topic: uniqueTopic('eg-state') };
}
