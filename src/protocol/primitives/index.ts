export { Reader } from './reader';
export { uvarintSize, Writer } from './writer';
export { ProtocolError } from './protocol-error';
export { NO_TAGGED_FIELDS, type RawTaggedField } from './tagged-fields';
