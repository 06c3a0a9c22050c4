# syntax=docker/dockerfile:1
#
# profgate as a container image:
#
#   docker build -t profgate .
#   docker run -p 7070:7070 -p 7072:7072 -v profgate-data:/data profgate
#
# The image runs `profgate serve`; arguments after the image name are more serve flags
# (`docker run ... profgate --redis-url redis://redis:6379`). The admin API stays on the container's
# loopback (127.0.0.1:7073): use it from inside, `docker exec <container> profgate iam ...`, which
# finds the owner token at /data/owner.token.

# Pin by digest for reproducible builds: --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: every dependency, then the TypeScript compiled to dist/ ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so that a source change reuses this layer. No install script is needed to
# build or to run: the generated code in src/gen is committed (buf is not run here), and
# TypeScript's compiler comes as a per-platform package.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only ---------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: node, dist/, production node_modules, package.json ------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A fixed numeric uid/gid, so that Kubernetes' runAsNonRoot can check it and volume ownership is
# predictable (the manifests in deploy/kubernetes run as 10001 too).
RUN groupadd --system --gid 10001 profgate \
 && useradd --system --uid 10001 --gid profgate --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin profgate \
 && mkdir /data \
 && chown profgate:profgate /data \
 && chmod 0700 /data
WORKDIR /app
# Owned by root and read-only to the gateway: it cannot change its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Needed at run time: "type": "module" makes node load dist/ as ES modules.
COPY package.json ./
# `profgate` on the PATH, for `docker exec` / `kubectl exec` (iam, spool).
RUN chmod 0755 /app/dist/cli/profgate.js \
 && ln -s /app/dist/cli/profgate.js /usr/local/bin/profgate

# Listen on every interface inside the container (the admin API keeps its loopback default), keep
# everything in the /data volume, and let `profgate iam` find the bootstrap owner token there.
ENV PROFGATE_DATA_DIR=/data \
    PROFGATE_GRPC_ADDRESS=0.0.0.0:7070 \
    PROFGATE_HTTP_ADDRESS=0.0.0.0:7072 \
    PROFGATE_TOKEN_FILE=/data/owner.token

USER 10001:10001
VOLUME ["/data"]
# 7070: gRPC ingestion (agents, OTLP/gRPC); 7072: /metrics, /healthz, /readyz; 4318: OTLP/HTTP.
# 7073 (admin) is not exposed.
EXPOSE 7070 7072 4318

# For plain Docker; Kubernetes ignores it and uses the probes in deploy/kubernetes. Assumes the
# HTTP listener's port is 7072.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7072/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM (docker stop, Kubernetes) starts the graceful shutdown: in-flight calls get
# --shutdown-grace (25s) to finish. `docker stop` waits only 10s unless given -t 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/profgate.js", "serve"]
