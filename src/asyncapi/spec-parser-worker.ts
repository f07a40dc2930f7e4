import { parentPort } from 'node:worker_threads';
import { parseSpec } from './parse-spec';
import { SpecError } from './spec-error';
import type { ParseReply, ParseRequest } from './spec-parser';

// The thread that parses AsyncAPI documents for spec-parser.ts; one request at a time is plenty.
parentPort!.on('message', (request: ParseRequest) => {
  parseSpec(request.text, request.source, request.validated ?? false).then(
    (outline) => parentPort!.postMessage({ id: request.id, outline } satisfies ParseReply),
    (error: unknown) => {
      const reply: ParseReply =
        error instanceof SpecError
          ? { id: request.id, refused: { summary: error.summary, diagnostics: error.diagnostics } }
          : { id: request.id, failed: error instanceof Error ? error.message : String(error) };
      parentPort!.postMessage(reply);
    },
  );
});
