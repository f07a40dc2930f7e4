/** Which topic names a channel address with parameters stands for. */
export interface AddressMatcher {
  test(topic: string): boolean;
}

const PARAMETER = /\{[^}]+\}/;

/**
 * `user.{userId}.signedup` matches `user.42.signedup`: each parameter stands for at least one
 * character, anything else in the address is literal text. Returns null for an address without
 * parameters (an exact topic name).
 *
 * A parameter ends where the literal text that follows it first appears (so it never contains
 * that text); the last parameter runs up to the address's final literal text, which ends the name.
 * For `{a}.{b}.v1`, `x.y.z.v1` is a=`x`, b=`y.z`. Taking the first place is never worse than a
 * later one for the parameters still to come, so this admits exactly the names a backtracking
 * match of `(.+?)` per parameter would, in one pass: time linear in the name's length, where the
 * regex took polynomial time (a 249-character name of dots against five parameters froze the
 * event loop for 25 seconds).
 */
export function addressMatcher(address: string): AddressMatcher | null {
  if (!PARAMETER.test(address)) return null;
  const literals = address.split(/\{[^}]+\}/);
  const first = literals[0];
  const last = literals[literals.length - 1];
  const middle = literals.slice(1, -1);
  const parameters = literals.length - 1;
  const shortest = literals.reduce((sum, literal) => sum + literal.length, 0) + parameters;
  return {
    test(topic) {
      if (topic.length < shortest || !topic.startsWith(first) || !topic.endsWith(last)) return false;
      const end = topic.length - last.length;
      let at = first.length;
      for (const literal of middle) {
        // The parameter before this literal takes at least one character.
        const found = topic.indexOf(literal, at + 1);
        // ...and the ones after it (at least the last) need one each before `end`.
        if (found < 0 || found + literal.length >= end) return false;
        at = found + literal.length;
      }
      return end - at >= 1;
    },
  };
}
