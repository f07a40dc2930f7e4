import type http from 'node:http';

/**
 * The request body as UTF-8 text, or null when it is larger than `limit` bytes. Past the limit the
 * rest is read and discarded, so the caller's 413 reaches a client that is still sending.
 */
export function readBody(request: http.IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(request.headers['content-length'] ?? 0);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit && declared <= limit) chunks.push(chunk);
    });
    request.on('end', () =>
      resolve(size > limit || declared > limit ? null : Buffer.concat(chunks).toString('utf8')),
    );
    request.on('error', reject);
  });
}
