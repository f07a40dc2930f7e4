/** One problem with an uploaded document, in a form an HTTP client can act on. */
export interface SpecDiagnostic {
  message: string;
  /** Where in the document, as a dotted path ('' for the whole document). */
  path: string;
  code?: string;
}

/** The document was refused: nothing changed in the store. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    /** What was wrong, without the diagnostics that `message` appends to it. */
    readonly summary: string,
    readonly diagnostics: SpecDiagnostic[] = [],
  ) {
    super(
      diagnostics.length === 0
        ? summary
        : `${summary}: ${diagnostics.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')}`,
    );
  }
}
