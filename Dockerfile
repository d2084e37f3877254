# syntax=docker/dockerfile:1
# RiskCards CDS service. Multi-stage: production dependencies only, other platforms' onnxruntime
# binaries pruned, runs as the non-root "node" user.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32 \
 && find node_modules/onnxruntime-node/bin -type d -path '*linux/arm64' -prune -exec rm -rf {} + \
 && npm cache clean --force

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    RISKCARDS_HOST=0.0.0.0 \
    RISKCARDS_DATA_DIR=/data \
    ONNXRUNTIME_NODE_INSTALL=skip
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY models ./models
COPY cds-hooks ./cds-hooks
COPY config ./config
COPY scripts/build.mjs ./scripts/build.mjs
# The service runs as plain JavaScript (dist/main.js + dist/store-worker.js): no transpiling at start.
RUN node scripts/build.mjs \
 && mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--enable-source-maps", "dist/main.js"]
