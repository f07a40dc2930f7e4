# syntax=docker/dockerfile:1
# Build stage: compiles TypeScript and the native codecs (zstd-napi builds from source).
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --strict-allow-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the compiled gateway, production dependencies and example specs.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node asyncapi ./asyncapi
COPY --chown=node:node config ./config
COPY --chown=node:node scripts/docker-entrypoint.sh ./docker-entrypoint.sh
USER node
# Bootstrap listener, one listener per broker from 20473 upward, and the HTTP server.
EXPOSE 20472-20499 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:5000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Sets listeners.advertisedHost to the container's host name unless the environment names one.
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["--config", "config/gateway.docker.yaml"]
