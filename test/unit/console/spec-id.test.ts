import { specIdFor } from '../../../ui/src/spec-id';

describe('specIdFor', () => {
  it('keeps a topic name that is already a spec id', () => {
    expect(specIdFor('orders.placed-v2')).toBe('orders.placed-v2');
  });

  it('drops leading characters a spec id may not start with, and cuts it to 128 characters', () => {
    expect(specIdFor('__orders')).toBe('orders');
    expect(specIdFor(`a${'b'.repeat(248)}`)).toHaveLength(128);
  });

  it('falls back to a fixed id when nothing of the topic is left', () => {
    expect(specIdFor('._-')).toBe('discovered');
  });
});
