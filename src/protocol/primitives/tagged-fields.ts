/**
 * A tagged field the decoder does not know. Kept as raw bytes so that re-encoding a message
 * written by a newer peer loses nothing.
 */
export interface RawTaggedField {
  tag: number;
  data: Buffer;
}
