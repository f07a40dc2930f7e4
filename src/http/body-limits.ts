/**
 * Nesting limits for what the HTTP API parses, checked on the text before any parser sees it. The
 * JSON and YAML parsers recurse per level and build the whole tree: a body of a few hundred
 * kilobytes nested a hundred thousand levels deep held the event loop for most of a second and
 * took hundreds of megabytes (YAML's compact `- - - …` ran the process out of memory). These scans
 * make one pass over the text, keep a few counters, and stop as soon as the limit is passed.
 */

/** Bodies that are a few settings or one event pattern: real ones nest a handful of levels. */
export const BODY_NESTING_LIMIT = 64;

/**
 * AsyncAPI documents nest deeper (schemas in schemas), and are parsed in a worker thread, but
 * their schemas are compiled on the proxy's thread, recursively.
 */
export const SPEC_NESTING_LIMIT = 256;

/** The refusal for a body nested deeper than `limit`, or null. */
export function nestingProblem(text: string, syntax: 'json' | 'yaml', limit: number): string | null {
  const depth = syntax === 'json' ? jsonDepth(text, limit) : yamlDepth(text, limit);
  return depth > limit ? `nested more than ${limit} levels deep` : null;
}

/**
 * How deeply JSON text nests arrays and objects (0 for a scalar), or `limit + 1` as soon as it
 * goes deeper than `limit`. Exact for valid JSON; any text gets a number, for the parser to refuse.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return limit + 1;
      }
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return deepest;
}

/**
 * An upper bound on how deeply a YAML document nests collections, or `limit + 1` as soon as that
 * bound passes `limit`. Each block indentation level counts twice (a mapping and the sequence
 * that is its value may share a column), and each indicator on a line (`- `, `? `, `key: `) and
 * flow bracket once more; quoted text, comments and block scalars are skipped. The bound is at
 * most about twice the true depth, so the limit is set with that in mind.
 */
export function yamlDepth(text: string, limit: number): number {
  const indents: number[] = [];
  let deepest = 0;
  let flow = 0;
  let flowBase = 0;
  let quote = 0;
  /**
   * Column of the node that owns a block scalar (`key: |`, `- |`); -1 outside one. Its content is
   * every following line indented deeper than that node: the key's column, not the line's, since
   * in `- a: |` a line indented like `a` is the next key, which must be scanned.
   */
  let blockScalar = -1;
  /** Column of the last node or indicator that started on this line. */
  let nodeColumn: number;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let i = lineStart;
    while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
    const indent = i - lineStart;
    const blank = i === lineEnd || text.charCodeAt(i) === CR || text.charCodeAt(i) === HASH;
    if (blockScalar >= 0 && (blank || indent > blockScalar) && quote === 0 && flow === 0) {
      lineStart = lineEnd + 1;
      continue;
    }
    blockScalar = -1;
    let depth = 0;
    let nodeStart = true;
    nodeColumn = indent;
    if (quote === 0 && flow === 0) {
      if (blank) {
        lineStart = lineEnd + 1;
        continue;
      }
      if (indent === 0 && (text.startsWith('---', i) || text.startsWith('...', i)) && !plainAt(text, i + 3)) {
        indents.length = 0;
        i += 3;
      }
      while (indents.length > 0 && indents[indents.length - 1] > indent) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1] < indent) indents.push(indent);
      depth = 2 * indents.length;
    } else {
      i = lineStart;
      nodeStart = flow > 0;
    }
    for (; i < lineEnd; i++) {
      const c = text.charCodeAt(i);
      if (quote !== 0) {
        if (quote === QUOTE && c === BACKSLASH) i++;
        else if (c === quote) {
          if (quote === APOSTROPHE && text.charCodeAt(i + 1) === APOSTROPHE) i++;
          else quote = 0;
        }
        continue;
      }
      if (c === SPACE || c === TAB || c === CR) continue;
      if (c === HASH && (i === lineStart || isBlank(text.charCodeAt(i - 1)))) break;
      if (flow > 0) {
        if (c === OPEN_BRACKET || c === OPEN_BRACE) {
          flow++;
          nodeStart = true;
          if (flowBase + flow > limit) return limit + 1;
          deepest = Math.max(deepest, flowBase + flow);
        } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
          flow--;
          nodeStart = false;
        } else if (c === COMMA || c === COLON) {
          // `"key":"value"` (JSON) puts no space after the colon; a quote there starts a string.
          nodeStart = true;
        } else if (nodeStart && (c === QUOTE || c === APOSTROPHE)) {
          quote = c;
        } else {
          nodeStart = false;
        }
        continue;
      }
      if (nodeStart) {
        if ((c === DASH || c === QUESTION || c === COLON) && !plainAt(text, i + 1)) {
          if (c !== COLON) nodeColumn = i - lineStart;
          depth++;
          continue;
        }
        nodeStart = false;
        const owner = nodeColumn;
        nodeColumn = i - lineStart;
        if (c === OPEN_BRACKET || c === OPEN_BRACE) {
          flow = 1;
          flowBase = depth;
          nodeStart = true;
          deepest = Math.max(deepest, depth + 1);
        } else if (c === QUOTE || c === APOSTROPHE) {
          quote = c;
        } else if (c === PIPE || c === GREATER) {
          blockScalar = owner;
          break;
        } else if (c === AMPERSAND || c === BANG) {
          // An anchor or a tag comes before the node it names.
          while (i + 1 < lineEnd && !isBlank(text.charCodeAt(i + 1))) i++;
          nodeStart = true;
        }
      } else if (c === COLON && !plainAt(text, i + 1)) {
        depth++;
        nodeStart = true;
      }
      if (depth > limit) return limit + 1;
    }
    if (depth > limit) return limit + 1;
    deepest = Math.max(deepest, depth);
    lineStart = lineEnd + 1;
  }
  return deepest;
}

/** Whether the character at `i` continues a plain scalar (an indicator must be followed by a blank). */
function plainAt(text: string, i: number): boolean {
  return i < text.length && !isBlank(text.charCodeAt(i));
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === LF;
}

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const BANG = 33;
const QUOTE = 34;
const HASH = 35;
const AMPERSAND = 38;
const APOSTROPHE = 39;
const COMMA = 44;
const DASH = 45;
const COLON = 58;
const GREATER = 62;
const QUESTION = 63;
const OPEN_BRACKET = 91;
const BACKSLASH = 92;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const PIPE = 124;
const CLOSE_BRACE = 125;
