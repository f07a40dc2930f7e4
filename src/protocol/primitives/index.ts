export { Reader } from './reader';
export { Writer } from './writer';
export { ProtocolError } from './protocol-error';
export type { RawTaggedField } from './tagged-fields';
