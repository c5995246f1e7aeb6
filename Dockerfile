# Multi-stage: the build stage compiles the TypeScript once; the runtime image carries the compiled
# JavaScript, the production dependencies (the embedded PostgreSQL binaries among them) and the
# migrations, and runs as an unprivileged user. Node 24 is the active LTS line.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Applied by the postinstall script (patch-package): see patches/.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATA_DIR=/app/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The admin UI's browser code, bundled by the server at start (src/admin/admin-assets.ts).
COPY src/admin/client ./src/admin/client
COPY package.json ./
COPY drizzle ./drizzle
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# What `npm start` runs once built, without npm in between, so signals reach the server directly.
CMD ["node", "dist/main.js"]
