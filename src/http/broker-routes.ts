import type { FastifyInstance } from 'fastify';
import { bearerSecurity, type AccessControl } from './access';
import { errorResponses } from './api-error';

/** A broker of the cluster and the gateway address that stands for it. */
export interface BrokerView {
  nodeId: number;
  /** Where the broker really is, as the cluster's metadata says. */
  host: string;
  port: number;
  /** The address clients are given for it (advertised host and the broker's gateway port). */
  gateway: string;
}

export interface BrokerRoutesOptions {
  /** The bootstrap address clients are given, and the brokers known now. */
  brokers: () => { bootstrap: string; brokers: BrokerView[] };
  access: AccessControl;
}

const brokersSchema = {
  type: 'object',
  required: ['bootstrap', 'brokers'],
  properties: {
    bootstrap: { type: 'string', description: 'The bootstrap address clients are given.' },
    brokers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['nodeId', 'host', 'port', 'gateway'],
        properties: {
          nodeId: { type: 'integer' },
          host: { type: 'string' },
          port: { type: 'integer' },
          gateway: { type: 'string', description: 'host:port clients reach this broker at.' },
        },
      },
    },
  },
} as const;

const whoamiSchema = {
  type: 'object',
  required: ['name', 'role'],
  properties: {
    name: { type: 'string', description: "The token's name (anonymous when no token is configured)." },
    role: { type: 'string', enum: ['admin', 'read'] },
  },
} as const;

/**
 * GET /brokers: the cluster as the gateway maps it; GET /whoami: what the token sent may do, so a
 * client (the console) can offer only what it is allowed.
 */
export function registerBrokerRoutes(app: FastifyInstance, options: BrokerRoutesOptions): void {
  const read = options.access.hook('read');
  app.get(
    '/brokers',
    {
      onRequest: read,
      schema: {
        summary: 'The brokers behind the gateway and the gateway address of each',
        tags: ['health'],
        security: bearerSecurity,
        response: { 200: brokersSchema, ...errorResponses(401, 403) },
      },
    },
    async () => {
      const { bootstrap, brokers } = options.brokers();
      return { bootstrap, brokers: [...brokers].sort((a, b) => a.nodeId - b.nodeId) };
    },
  );
  app.get(
    '/whoami',
    {
      onRequest: read,
      schema: {
        summary: 'The name and role of the token sent',
        tags: ['meta'],
        security: bearerSecurity,
        response: { 200: whoamiSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ name: request.principal.name, role: request.principal.role }),
  );
}
