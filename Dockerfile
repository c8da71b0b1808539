# The Node gateway (strangler serve) and the fixtures, on the official Node.js image.
#   docker build -t strangler .
#   docker run --rm -p 8090:8090 -v "$PWD/my-routes.yaml:/app/routes/routes.yaml:ro" strangler
# docker-compose.yml runs the whole strangler fig from this image (see README, "docker compose").

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off: `prepare` compiles, and the sources are not here yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY gateway ./gateway
COPY monolith-fixture ./monolith-fixture
# The build precompiles the manifest schema (ajv standalone code) into dist/.
COPY routes/routes.schema.json ./routes/
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY nginx-templates ./nginx-templates
# The dashboard's static files, served by the admin API at /ui/.
COPY ui ./ui
COPY --from=build /app/dist/gateway ./dist/gateway
COPY --from=build /app/dist/monolith-fixture ./dist/monolith-fixture
# The gateway writes its admin token beside the manifest and its state where --state says:
# those places belong to the unprivileged user the image runs as.
COPY --chown=node:node routes ./routes
COPY --chown=node:node deploy ./deploy
RUN mkdir -p /var/lib/strangler && chown node:node /var/lib/strangler
USER node
EXPOSE 8090 8091
CMD ["node", "--no-memory-reducer", "--min-semi-space-size=16", "--no-allocation-site-pretenuring", "bin/strangler.js", "serve", "routes/routes.yaml", "--listen", "0.0.0.0:8090", "--state", "/var/lib/strangler/routes.state.json"]
