# syntax=docker/dockerfile:1
# aigis container image. Build: docker build -t aigis .
# Node: the current LTS line; any LTS works (--build-arg NODE_VERSION=24).
ARG NODE_VERSION=26

# --- build: compile TypeScript to dist/ -------------------------------------
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY routes ./routes
RUN npm run build

# --- runtime: production dependencies and the compiled server only -----------
FROM node:${NODE_VERSION}-slim AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to aigis and reaps orphaned
# grandchildren of plugins. git and certificates: plugins from git sources.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    AIGIS_HOST=0.0.0.0 \
    AIGIS_PORT=8080 \
    AIGIS_DATA_DIR=/data \
    AIGIS_CONFIG=/app/config/config.aigis
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# The shipped default config and its example plugins; mount your own over
# /app/config and /app/plugins, or point AIGIS_CONFIG elsewhere.
COPY config ./config
COPY plugins ./plugins
RUN mkdir -p /data && chown node:node /data
# The node image's unprivileged user (uid 1000).
USER node
# Runtime copies of plugins (ext/), log files (logs/), secrets (secrets/).
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.AIGIS_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli.js"]
