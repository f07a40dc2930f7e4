import { isMap, isSeq, parseDocument, type Node } from 'yaml';

/**
 * The 1-based line a diagnostic's dotted path points at in the document's text, or null. Keys
 * may hold dots themselves (a channel address such as `lighting.measured`), so at each level the
 * longest run of segments that names an existing key wins. When the whole path is not there (a
 * missing property), the line of the deepest part that is.
 */
export function lineOfPath(text: string, dotted: string): number | null {
  let document;
  try {
    document = parseDocument(text, { keepSourceTokens: false, uniqueKeys: false });
  } catch {
    return null;
  }
  let node = document.contents as Node | null;
  let found: Node | null = node;
  const segments = dotted === '' ? [] : dotted.split('.');
  let i = 0;
  while (node !== null && i < segments.length) {
    let next: Node | null = null;
    if (isMap(node)) {
      for (let j = segments.length; j > i && next === null; j--) {
        const key = segments.slice(i, j).join('.');
        const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value) === key);
        if (pair !== undefined) {
          next = (pair.value as Node | null) ?? (pair.key as Node);
          // The key's line, not the value's: a block value starts on the next line.
          found = (pair.key as Node) ?? next;
          i = j;
        }
      }
    } else if (isSeq(node) && /^\d+$/.test(segments[i])) {
      next = (node.items[Number(segments[i])] as Node | undefined) ?? null;
      if (next !== null) found = next;
      i += 1;
    }
    if (next === null) break;
    node = next;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return null;
  return text.slice(0, offset).split('\n').length;
}
