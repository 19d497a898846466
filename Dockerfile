# syntax=docker/dockerfile:1
# aad-sync runs its TypeScript sources through tsx (a runtime dependency), so there is no compile step:
# one stage installs the production dependencies, the final stage holds them with the sources only.
# Debian (glibc), not Alpine: the embedded PostgreSQL binaries are built against glibc.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Devdependencies (vitest, biome, drizzle-kit, typescript) stay out. embedded-postgres stays in: it is a
# regular dependency, used only when DATABASE_URL is unset (a one-container trial with a volume on /app/.data).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the app user: the running process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# `aad-sync bench` ships with the image: it measures the product against the emulator on the target machine.
COPY bench ./bench
COPY migrations ./migrations
# The one writable place in the image, for the embedded PostgreSQL when no DATABASE_URL is given.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/aad-sync.js", "serve"]
