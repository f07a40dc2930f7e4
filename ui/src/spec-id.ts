/** What PUT /specs/{id} takes as an id. */
export const SPEC_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A spec id for a topic's contract: topic names use the characters ids allow, but may start with
 * a dot, dash or underscore and run to 249 characters, where ids may not.
 */
export function specIdFor(topic: string): string {
  const id = topic.replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return SPEC_ID.test(id) ? id : 'discovered';
}
