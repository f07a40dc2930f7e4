import Ajv, { type ValidateFunction } from 'ajv';
import { addJsonFormats } from '../asyncapi/json-formats';

/**
 * The formats a draft may give a string field, most specific first: the first one every string
 * of the field satisfies wins. `hostname`, `time` and the like are left out on purpose: nearly any
 * word is a hostname, so the draft would claim a meaning the data never had.
 */
export const DRAFT_FORMATS = ['uuid', 'date-time', 'date', 'email', 'uri', 'ipv4', 'ipv6'] as const;
export type DraftFormat = (typeof DRAFT_FORMATS)[number];

/** Every format still possible; a bit per entry of DRAFT_FORMATS. */
export const ALL_FORMATS = (1 << DRAFT_FORMATS.length) - 1;

/**
 * Longer strings rule every format out: none of these formats is that long in practice, and the
 * format regexes then never see more than this from a producer.
 */
const MAX_FORMAT_LENGTH = 512;

/**
 * Cheap shapes each format must have besides passing its check. They only ever rule a format
 * out, so the draft stays safe; `uri` asks for `scheme://` because ajv-formats accepts `a:b`, and a
 * field of such words is not a field of URIs.
 */
const SHAPES: Record<DraftFormat, (text: string) => boolean> = {
  uuid: (text) => text.length === 36 || text.length === 45,
  'date-time': (text) => /^\d{4}-\d{2}-\d{2}[Tt ]/.test(text),
  date: (text) => text.length === 10,
  email: (text) => text.includes('@'),
  uri: (text) => /^[A-Za-z][A-Za-z0-9+.-]*:\/\/./.test(text),
  ipv4: (text) => text.length <= 15,
  ipv6: (text) => text.includes(':'),
};

let checks: ValidateFunction[] | null = null;

/**
 * The format checks of the validator itself (asyncapi/json-formats), so a format the draft names
 * never refuses a string it was inferred from.
 */
function formatChecks(): ValidateFunction[] {
  if (checks === null) {
    const ajv = addJsonFormats(new Ajv({ strict: false, validateFormats: true }));
    checks = DRAFT_FORMATS.map((format) => ajv.compile({ type: 'string', format }));
  }
  return checks;
}

/** Of the formats in `candidates` (a bit set), those `text` satisfies. */
export function formatsOf(text: string, candidates: number): number {
  if (candidates === 0 || text.length > MAX_FORMAT_LENGTH) return 0;
  const check = formatChecks();
  let kept = 0;
  for (let f = 0; f < DRAFT_FORMATS.length; f++) {
    const bit = 1 << f;
    if ((candidates & bit) !== 0 && SHAPES[DRAFT_FORMATS[f]](text) && check[f](text)) kept |= bit;
  }
  return kept;
}

/** The most specific format of a bit set, if any. */
export function bestFormat(candidates: number): DraftFormat | undefined {
  for (let f = 0; f < DRAFT_FORMATS.length; f++) if ((candidates & (1 << f)) !== 0) return DRAFT_FORMATS[f];
  return undefined;
}
