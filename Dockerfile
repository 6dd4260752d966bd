# volpred: the pipeline, its Prefect worker, and (later) the API and dashboard, in one image.
# Build: docker build -t volpred .   Run the pipeline once: docker run --rm volpred
# docker compose (deployments/docker-compose.yml) runs a Prefect server, a worker and the services.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_LOGGING_EXTRA_LOGGERS=volpred \
    OMP_NUM_THREADS=1 \
    VOLPRED_DATA_DIR=/var/lib/volpred/data \
    VOLPRED_ARTIFACTS_DIR=/var/lib/volpred/artifacts \
    VOLPRED_RESULTS_DIR=/var/lib/volpred/results \
    VOLPRED_RUN_DIR=/var/lib/volpred/run \
    VOLPRED_REPORT_DIR=/var/lib/volpred/reports \
    VOLPRED_HEALTH_URL=http://127.0.0.1:4200/api/health

# System libraries: WeasyPrint (pango, harfbuzz subset), Chromium for kaleido's figure export,
# fonts, poppler-utils for reading reports back, and tini to reap the services' children.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        chromium fonts-dejavu-core fonts-liberation libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 poppler-utils tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
# Dependencies first (a layer that changes only with the lock file), then the project.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
COPY flows ./flows
COPY templates ./templates
COPY deployments ./deployments
COPY prefect.yaml ./
RUN uv sync --frozen --no-dev

RUN useradd --create-home --uid 10001 volpred \
    && mkdir -p /var/lib/volpred \
    && chown -R volpred /var/lib/volpred
USER 10001
VOLUME ["/var/lib/volpred"]

# Each compose service points VOLPRED_HEALTH_URL at its own health endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['VOLPRED_HEALTH_URL'], timeout=4)"]

ENTRYPOINT ["tini", "--"]
CMD ["volpred", "run"]
