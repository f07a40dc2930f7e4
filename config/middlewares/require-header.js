/**
 * require-header: refuses every record that does not carry a given header, e.g. a trace id that
 * downstream consumers rely on. A complete example of a third-party middleware (see
 * docs/pipeline.md for the contract and src/pipeline/middleware.ts for its types).
 *
 *   pipeline:
 *     middlewares:
 *       - validation
 *       - module: config/middlewares/require-header.js
 *         options:
 *           header: trace-id       # required: the header every record must carry
 *           topics: '^orders\.'    # optional: a regular expression; other topics are not checked
 *
 * A header counts as present when it has a value (an empty one included); a header whose value
 * is null is treated as missing, since a consumer reading it gets nothing to trace by. Refusing a
 * record refuses its whole produce request: the producer receives INVALID_RECORD, and clients
 * that read Produce v8+ error messages (the Java client logs them) also get the reason below.
 *
 * Plain CommonJS with no dependencies: the gateway loads it with require() from the path given,
 * resolved against its working directory.
 */
'use strict';

/**
 * @param {Record<string, unknown>} options the `options` of the configuration entry
 * @param {{ logger: { info(obj: object, msg?: string): void } }} tools lent by the gateway
 */
module.exports = function requireHeader(options, tools) {
  const header = options.header;
  if (typeof header !== 'string' || header === '') {
    // Thrown at start-up, so a misconfigured gateway does not start rather than letting everything through.
    throw new Error('require-header: options.header must name the header every record must carry');
  }
  let topics = null;
  if (options.topics !== undefined) {
    if (typeof options.topics !== 'string')
      throw new Error('require-header: options.topics must be a regular expression string');
    try {
      topics = new RegExp(options.topics);
    } catch (error) {
      throw new Error(`require-header: options.topics is not a valid regular expression: ${error.message}`, {
        cause: error,
      });
    }
  }
  const reason = `record has no '${header}' header, which every record must carry`;
  tools.logger.info({ header, topics: options.topics ?? '(all topics)' }, 'require-header middleware ready');

  const middleware = {
    name: 'require-header',
    onRecord(record, verdict) {
      // An earlier middleware's reason is the one the producer sees; a second one adds nothing.
      if (verdict.rejected) return;
      for (const h of record.headers) {
        if (h.key === header && h.value !== null) return;
      }
      verdict.reject(reason);
    },
  };
  // Without `wants` the pipeline hands over the records of every topic.
  if (topics !== null) middleware.wants = (topic) => topics.test(topic);
  return middleware;
};
