import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { bearerSecurity, type AccessControl } from '../http/access';
import { ApiError, errorResponses } from '../http/api-error';
import { BODY_NESTING_LIMIT } from '../http/body-limits';
import {
  etag,
  etagHeader,
  ifMatchHeaders,
  preconditions,
  putHeaders,
  stateWriteError,
} from '../http/revision-headers';
import type { Logger } from '../observability/logger';
import type { StateEntry } from '../state/state-ledger';
import type { StateStore } from '../state/state-store';
import type { SecretBox } from './secret-box';
import {
  SUBSCRIPTION_KIND,
  subscriptionProblems,
  type StoredReplay,
  type StoredSubscription,
  type SubscriptionSettings,
  type TargetAuth,
} from './subscription';
import {
  idParams,
  putBody,
  replayBody,
  replayView,
  statusView,
  subscriptionView,
} from './subscription-schemas';
import { Subscriptions } from './subscriptions';
import type { TargetPolicy } from './target-policy';

export interface SubscriptionRoutesOptions {
  subscriptions: Subscriptions;
  state: StateStore;
  policy: TargetPolicy;
  secrets: SecretBox | null;
  /** Sync subscriptions need the HTTP door, which writes their requests to Kafka. */
  syncAvailable: boolean;
  syncPathPrefix: string;
  /** Kafka's own topics and the gateway's, which no subscription may read or dead-letter into. */
  internalTopic: (topic: string) => boolean;
  statusTimeoutMs: number;
  access: AccessControl;
  logger: Logger;
}

const MAX_BODY_BYTES = 64 * 1024;
/** Replays of one subscription running at once; each is a consumer group on every instance. */
const MAX_REPLAYS = 4;

function compareIds(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The auth without its secrets. */
function authView(auth: TargetAuth | undefined, sealed: boolean): Record<string, unknown> | undefined {
  if (auth === undefined) return sealed ? { sealed: true } : undefined;
  if ('apiKey' in auth) return { apiKey: { header: auth.apiKey.header } };
  if ('basic' in auth) return { basic: { username: auth.basic.username } };
  const { tokenUrl, clientId, scope, audience } = auth.oauth2;
  return {
    oauth2: {
      tokenUrl,
      clientId,
      ...(scope !== undefined && { scope }),
      ...(audience !== undefined && { audience }),
    },
  };
}

/** The stored settings as given, without what the gateway keeps about them. */
function settingsOf(document: StoredSubscription): SubscriptionSettings {
  const { paused: _paused, epoch: _epoch, replays: _replays, sealed: _sealed, ...settings } = document;
  return settings;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(new ApiError(503, `Kafka did not answer ${what} within ${ms} ms`, {}, { 'retry-after': '5' })),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(
      503,
      `Kafka could not be asked ${what}: ${(error as Error).message}`,
      {},
      { 'retry-after': '5' },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * PUT/GET/DELETE /subscriptions/{id}, GET /subscriptions, pause, resume, replay and status: the
 * subscriptions kept in the state topic, so every instance delivers them.
 */
export function registerSubscriptionRoutes(app: FastifyInstance, options: SubscriptionRoutesOptions): void {
  const { subscriptions, state, policy, secrets, logger, statusTimeoutMs } = options;
  const read = options.access.hook('read');
  const admin = options.access.hook('admin');
  const tags = ['subscriptions'];

  const view = (entry: StateEntry<StoredSubscription>) => {
    const document = entry.document;
    let auth: TargetAuth | undefined;
    try {
      auth = subscriptions.openAuth(document);
    } catch {
      auth = undefined;
    }
    const settings = settingsOf(document);
    const shownAuth = authView(auth, document.sealed !== undefined);
    const { auth: _secret, ...target } = settings.target;
    return {
      id: entry.id,
      ...settings,
      target: { ...target, ...(shownAuth !== undefined && { auth: shownAuth }) },
      paused: document.paused === true,
      ...(document.replays !== undefined && {
        replays: document.replays.map(({ id, from, to, requestedAt, endOffsets }) => ({
          id,
          from,
          ...(to !== undefined && { to }),
          requestedAt,
          endOffsets,
        })),
      }),
      revision: entry.revision,
      updatedAt: entry.updatedAt,
      ...(entry.by !== undefined && { updatedBy: entry.by }),
    };
  };

  const existing = (id: string) => {
    const entry = state.get<StoredSubscription>(SUBSCRIPTION_KIND, id);
    if (entry === undefined) throw new ApiError(404, `no subscription named '${id}'`);
    return entry;
  };

  /** Writes a change of the stored document made by the gateway's own routes (pause, replay), against the revision read. */
  const update = async (entry: StateEntry<StoredSubscription>, document: StoredSubscription, by: string) =>
    state
      .put<StoredSubscription>(SUBSCRIPTION_KIND, entry.id, document, { ifMatch: entry.revision, by })
      .catch(stateWriteError);

  app.get(
    '/subscriptions',
    {
      onRequest: read,
      schema: {
        summary: 'The subscriptions: events delivered to HTTP targets',
        tags,
        security: bearerSecurity,
        response: {
          200: {
            type: 'object',
            required: ['subscriptions'],
            properties: { subscriptions: { type: 'array', items: subscriptionView } },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async () => ({
      subscriptions: state.list<StoredSubscription>(SUBSCRIPTION_KIND).sort(compareIds).map(view),
    }),
  );

  app.put<{ Params: { id: string }; Body: SubscriptionSettings }>(
    '/subscriptions/:id',
    {
      onRequest: admin,
      bodyLimit: MAX_BODY_BYTES,
      config: { body: { kind: 'json', nesting: BODY_NESTING_LIMIT } },
      schema: {
        summary: 'Create or replace a subscription',
        description:
          'An async subscription delivers the records of its topics to its target at least once, with ' +
          'retries and a dead-letter topic; a new one starts at the current end of its topics. A sync ' +
          'subscription answers HTTP requests on its path with its target’s answer, each request written ' +
          'to its topic first. Two async subscriptions with the same events and the same target, or two ' +
          'sync subscriptions on one method and path, are a 409.',
        tags,
        security: bearerSecurity,
        params: idParams,
        headers: putHeaders('subscription'),
        body: putBody,
        response: {
          200: { description: 'Replaced', headers: etagHeader, ...subscriptionView },
          201: { description: 'Created', headers: etagHeader, ...subscriptionView },
          ...errorResponses(400, 401, 403, 409, 412, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const by = request.principal;
      const settings = request.body;
      const conditions = preconditions(request.headers);
      const problems = subscriptionProblems(settings, options.syncPathPrefix, options.internalTopic);
      if (problems.length === 0) {
        const urlProblem = await policy.storedProblem(new URL(settings.target.url));
        if (urlProblem !== null) problems.push(`target.url: ${urlProblem}`);
      }
      const auth = settings.target.auth;
      if (auth !== undefined && 'oauth2' in auth && problems.length === 0) {
        const tokenProblem = await policy.storedProblem(new URL(auth.oauth2.tokenUrl));
        if (tokenProblem !== null) problems.push(`target.auth.oauth2.tokenUrl: ${tokenProblem}`);
      }
      if (settings.type === 'sync' && !options.syncAvailable)
        problems.push(
          'type: sync subscriptions write their requests to Kafka through the HTTP door, which is off here (ingest.enabled)',
        );
      if (problems.length > 0) throw new ApiError(400, 'invalid subscription', { problems });
      const conflict = subscriptions.conflict(id, settings);
      if (conflict !== null) throw new ApiError(409, conflict);
      const before = state.get<StoredSubscription>(SUBSCRIPTION_KIND, id);
      let epoch = before?.document.epoch ?? Subscriptions.newEpoch();
      if (settings.type === 'async') {
        const dlq = settings.deadLetterTopic!;
        if (
          !(await withTimeout(
            subscriptions.offsets.exists(dlq),
            statusTimeoutMs,
            'whether the dead-letter topic exists',
          ))
        )
          throw new ApiError(400, 'invalid subscription', {
            problems: [`deadLetterTopic: topic '${dlq}' does not exist`],
          });
        const sameTopics =
          before !== undefined &&
          before.document.type === 'async' &&
          JSON.stringify([...before.document.events.topics].sort()) ===
            JSON.stringify([...settings.events.topics].sort());
        if (!sameTopics) {
          // A group of its own, positioned at the end of the topics before anyone joins it: what is
          // produced from this answer on is delivered, nothing from before.
          epoch = Subscriptions.newEpoch();
          const groupId = subscriptions.groupId(id, epoch);
          await withTimeout(
            subscriptions
              .resolveTopics(settings.events.topics)
              .then((topics) => subscriptions.offsets.positionAtEnd(groupId, topics)),
            statusTimeoutMs * 4,
            'where the topics end',
          );
        }
      }
      const { auth: secretAuth, ...target } = settings.target;
      const document: StoredSubscription = {
        ...settings,
        target: secrets !== null || secretAuth === undefined ? target : { ...target, auth: secretAuth },
        epoch,
        ...(before?.document.paused === true && { paused: true }),
        ...(before?.document.replays !== undefined &&
          settings.type === 'async' && { replays: before.document.replays }),
        ...(secrets !== null && secretAuth !== undefined && { sealed: secrets.seal(secretAuth) }),
      };
      const entry = await state
        .put<StoredSubscription>(SUBSCRIPTION_KIND, id, document, {
          ...conditions,
          ...(before === undefined
            ? conditions.ifMatch === undefined && { ifNoneMatch: true }
            : { ifMatch: conditions.ifMatch ?? before.revision }),
          by: by.name,
        })
        .catch(stateWriteError);
      logger.info(
        { subscription: id, by: by.name, revision: entry.revision, created: before === undefined },
        'subscription stored',
      );
      if (before !== undefined && before.document.epoch !== epoch && before.document.type === 'async')
        subscriptions.forgetGroupsLater([subscriptions.groupId(id, before.document.epoch)]);
      return reply
        .header('etag', etag(entry.revision))
        .code(before === undefined ? 201 : 200)
        .send(view(entry));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/subscriptions/:id',
    {
      onRequest: read,
      schema: {
        summary: 'One subscription (never its target secrets)',
        tags,
        security: bearerSecurity,
        params: idParams,
        response: {
          200: { headers: etagHeader, ...subscriptionView },
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const entry = existing(request.params.id);
      return reply.header('etag', etag(entry.revision)).send(view(entry));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/subscriptions/:id',
    {
      onRequest: admin,
      schema: {
        summary: 'Delete a subscription; every instance stops delivering it',
        tags,
        security: bearerSecurity,
        params: idParams,
        headers: ifMatchHeaders,
        response: {
          204: { description: 'Deleted', type: 'null' },
          ...errorResponses(400, 401, 403, 404, 412, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const by = request.principal;
      const before = state.get<StoredSubscription>(SUBSCRIPTION_KIND, id);
      const deleted = await state
        .delete(SUBSCRIPTION_KIND, id, { ...preconditions(request.headers), by: by.name })
        .catch(stateWriteError);
      if (!deleted || before === undefined) throw new ApiError(404, `no subscription named '${id}'`);
      logger.info({ subscription: id, by: by.name }, 'subscription deleted');
      if (before.document.type === 'async')
        subscriptions.forgetGroupsLater([
          subscriptions.groupId(id, before.document.epoch),
          ...(before.document.replays ?? []).map((replay) => subscriptions.replayGroupId(id, replay.id)),
        ]);
      return reply.code(204).send();
    },
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/subscriptions/:id/${action}`,
      {
        onRequest: admin,
        schema: {
          summary: paused
            ? 'Pause a subscription: every instance stops delivering (async) or answers 503 (sync); records wait in Kafka'
            : 'Resume a paused subscription where it stopped',
          tags,
          security: bearerSecurity,
          params: idParams,
          response: {
            200: { headers: etagHeader, ...subscriptionView },
            ...errorResponses(400, 401, 403, 404, 412, 503),
          },
        },
      },
      async (request, reply) => {
        const entry = existing(request.params.id);
        if ((entry.document.paused === true) === paused)
          return reply.header('etag', etag(entry.revision)).send(view(entry));
        const { paused: _was, ...rest } = entry.document;
        const updated = await update(
          entry,
          { ...rest, ...(paused && { paused: true }) },
          request.principal.name,
        );
        logger.info(
          { subscription: entry.id, by: request.principal.name },
          paused ? 'subscription paused' : 'subscription resumed',
        );
        return reply.header('etag', etag(updated.revision)).send(view(updated));
      },
    );
  }

  app.post<{ Params: { id: string }; Body: { from: string; to?: string } }>(
    '/subscriptions/:id/replay',
    {
      onRequest: admin,
      config: { body: { kind: 'json', nesting: BODY_NESTING_LIMIT } },
      bodyLimit: 4096,
      schema: {
        summary: 'Redeliver what the topics still hold from a time on, alongside live delivery',
        description:
          'The replay is a consumer group of its own, started at the first record timestamped at or after ' +
          '`from` and ending at the first after `to` (or where the topics end now); it is shared by every ' +
          'instance like live delivery, and removed from the subscription when done.',
        tags,
        security: bearerSecurity,
        params: idParams,
        body: replayBody,
        response: { 202: replayView, ...errorResponses(400, 401, 403, 404, 409, 412, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      const entry = existing(request.params.id);
      if (entry.document.type !== 'async')
        throw new ApiError(400, 'only async subscriptions replay; a sync one has no backlog');
      const fromMs = Date.parse(request.body.from);
      const toMs = request.body.to === undefined ? undefined : Date.parse(request.body.to);
      if (!Number.isFinite(fromMs)) throw new ApiError(400, 'from: not a date-time');
      if (toMs !== undefined && !(toMs >= fromMs))
        throw new ApiError(400, 'to: must be a date-time at or after from');
      if ((entry.document.replays ?? []).length >= MAX_REPLAYS)
        throw new ApiError(
          409,
          `subscription '${entry.id}' has ${MAX_REPLAYS} replays running; wait for one to finish`,
        );
      const replayId = randomBytes(6).toString('hex');
      const groupId = subscriptions.replayGroupId(entry.id, replayId);
      const topics = await withTimeout(
        subscriptions.resolveTopics(entry.document.events.topics),
        statusTimeoutMs,
        'for the topics',
      );
      const endOffsets = await withTimeout(
        subscriptions.offsets.positionForReplay(groupId, topics, fromMs, toMs),
        statusTimeoutMs * 4,
        'for offsets by time',
      );
      const replay: StoredReplay = {
        id: replayId,
        from: new Date(fromMs).toISOString(),
        ...(toMs !== undefined && { to: new Date(toMs).toISOString() }),
        endOffsets,
        requestedAt: new Date().toISOString(),
      };
      await update(
        entry,
        { ...entry.document, replays: [...(entry.document.replays ?? []), replay] },
        request.principal.name,
      );
      logger.info(
        { subscription: entry.id, replay: replayId, from: replay.from, to: replay.to },
        'subscription replay started',
      );
      return reply.code(202).send(replay);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/subscriptions/:id/status',
    {
      onRequest: read,
      schema: {
        summary: 'How a subscription is doing: state, lag per partition, what this instance delivered',
        tags,
        security: bearerSecurity,
        params: idParams,
        response: { 200: statusView, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const entry = existing(request.params.id);
      const active = subscriptions.get(entry.id);
      const { lag, replays } = await withTimeout(
        subscriptions.status(entry.id),
        statusTimeoutMs,
        'for the lag',
      );
      let state: 'active' | 'paused' | 'failing' = entry.document.paused === true ? 'paused' : 'active';
      let detail: string | undefined;
      if (active?.problem != null) {
        state = 'failing';
        detail = active.problem;
      } else if (state === 'active' && active?.run != null) {
        const health = active.run.health();
        if (!health.running) state = 'failing';
        detail = health.detail;
      }
      return {
        id: entry.id,
        type: entry.document.type,
        state,
        ...(entry.document.type === 'async' && {
          group: subscriptions.groupId(entry.id, entry.document.epoch),
        }),
        ...(detail !== undefined && { detail }),
        instance: active?.counts ?? { delivered: 0, retried: 0, deadLettered: 0 },
        lag,
        totalLag: lag.reduce((sum, entry) => sum + entry.lag, 0),
        replays,
      };
    },
  );
}
