/**
 * A tagged field the decoder does not know. Kept as raw bytes so that re-encoding a message
 * written by a newer peer loses nothing.
 */
export interface RawTaggedField {
  tag: number;
  data: Buffer;
}

/**
 * Shared by every decoded struct that carried no unknown tagged field. Frozen so that code which
 * pushes into a decoded struct's list fails loudly instead of leaking into every other struct.
 */
export const NO_TAGGED_FIELDS: RawTaggedField[] = Object.freeze([]) as unknown as RawTaggedField[];
