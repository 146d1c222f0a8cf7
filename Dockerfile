# Sift image. Build: docker build -t sift .   Run with Redis: docker compose up (docs/operations.md)
# Its default command is the API; `node --single-threaded-gc dist/src/cli/sift.js worker` makes it a batch worker.
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
# onnxruntime-node ships its native runtime for every platform (bin/napi-v*/<platform>/<arch>) and
# loads only bin/napi-v*/<process.platform>/<process.arch>. This stage runs on the image's own
# platform, so it keeps that one folder and deletes the others. Measured with du -sh on 1.30.0:
# bin/ holds 288M; an amd64 image keeps linux/x64 (45M) and loses 244M (darwin 86M, win32 134M,
# linux/arm64 25M), an arm64 image keeps linux/arm64 (25M) and loses 263M.
RUN keep="$(node -p 'process.platform + "/" + process.arch')" \
 && for dir in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$dir" in */"$keep") ;; *) rm -r "$dir" ;; esac; \
    done \
 && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d -empty -delete
# The runtime left must still load (a prune that took the wrong folder fails the build here).
RUN node -e "require('onnxruntime-node')"

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
# The API's check. A worker (this image, the worker command) serves no /readyz: it answers GET
# /healthz on SIFT_METRICS_PORT (9464), which docker-compose.yml's worker service checks instead;
# with docker run, give a worker that check with --health-cmd (docs/operations.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/cli/sift.js", "up"]
