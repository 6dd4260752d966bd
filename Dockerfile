# volpred: the pipeline, its Prefect server and workers, the API and the dashboard, in one image.
# Build: deployments/podman/build-image.sh (make image), or docker build -t volpred .
# Run the pipeline once: podman run --rm -v volpred-state:/var/lib/volpred localhost/volpred
# Compose (deployments/docker-compose.yml) runs a Prefect server on PostgreSQL, a worker and
# the services; a docker-type work pool (deployments/docker-pool.json) runs flows in it.
FROM python:3.11-slim-bookworm

# Everything a run writes lives under /var/lib/volpred (the state volume) or /tmp, so the
# container also runs with a read-only root filesystem (podman run --read-only gives /tmp a
# tmpfs; with docker add --tmpfs /tmp). The Prefect server writes its UI build (with the API
# address filled in) into PREFECT_UI_STATIC_DIRECTORY, which uid 10001 can write; /opt/venv
# is root's. The default Prefect port is not 4200, so a container on the host's network never
# takes a Prefect server of the host's for its own.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_LOGGING_EXTRA_LOGGERS=volpred \
    PREFECT_HOME=/var/lib/volpred/prefect \
    PREFECT_UI_STATIC_DIRECTORY=/tmp/prefect-ui \
    XDG_CACHE_HOME=/tmp/cache \
    XDG_CONFIG_HOME=/tmp/config \
    MPLCONFIGDIR=/tmp/config/matplotlib \
    OMP_NUM_THREADS=1 \
    VOLPRED_DATA_DIR=/var/lib/volpred/data \
    VOLPRED_ARTIFACTS_DIR=/var/lib/volpred/artifacts \
    VOLPRED_RESULTS_DIR=/var/lib/volpred/results \
    VOLPRED_RUN_DIR=/var/lib/volpred/run \
    VOLPRED_REPORT_DIR=/var/lib/volpred/reports \
    VOLPRED_SERVICES=[] \
    VOLPRED_PREFECT_PORT=4210 \
    VOLPRED_HEALTH_URL=http://127.0.0.1:4210/api/health

# System libraries: WeasyPrint (pango, harfbuzz subset), Chromium for kaleido's figure export,
# fonts, poppler-utils for reading reports back, and tini to reap the services' children.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        chromium fonts-dejavu-core fonts-liberation libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 poppler-utils tini ca-certificates \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
# Dependencies first (a layer that changes only with the lock file), then the project.
# UV_NO_CACHE: uv's download cache would add about 1 GB to the image.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project
COPY src ./src
COPY flows ./flows
COPY templates ./templates
COPY deployments ./deployments
COPY prefect.yaml ./
RUN uv sync --frozen --no-default-groups

RUN useradd --create-home --uid 10001 volpred \
    && mkdir -p /var/lib/volpred \
    && chown -R volpred /var/lib/volpred
USER 10001
# No VOLUME: every run names its state volume (-v volpred-state:/var/lib/volpred); an
# anonymous one per container would be left behind by each flow run of the docker pool.

# Each compose service points VOLPRED_HEALTH_URL at its own health endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['VOLPRED_HEALTH_URL'], timeout=4)"]

# Last: the revision changes with every commit, and nothing after it is worth rebuilding.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="volpred" \
      org.opencontainers.image.description="S&P 500 volatility forecasts: Prefect flow, API, dashboard, report" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

ENTRYPOINT ["tini", "--"]
CMD ["volpred", "run"]
