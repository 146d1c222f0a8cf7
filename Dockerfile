# Sift API image. Build: docker build -t sift .   Run with Redis: docker compose up
FROM node:20-bookworm-slim AS build
WORKDIR /app
# --ignore-scripts: onnxruntime-node's install step would download CUDA libraries, and the CPU
# runtime ships in the package (docs/models.md says how to add the CUDA build).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json codegen.ts ./
COPY src ./src
COPY tests ./tests
COPY bench ./bench
COPY workers ./workers
COPY web ./web
COPY packages ./packages
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
# Every interface, so the port can be published; with no SIFT_AUTH set, the API then refuses to
# start until it is told: keys (compose sets it) or off on purpose.
ENV NODE_ENV=production PORT=4000 HOST=0.0.0.0 SIFT_MODELS_DIR=/app/models
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY models ./models
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/cli/sift.js", "up"]
