# One image for every Strongroom service, built from one wheel:
#   docker build -t strongroom .
#   docker run --read-only --tmpfs /tmp strongroom vault       (python -m vault)
# The first argument names the service package: edge_proxy, vault, router, api, fraud.
# `--target transit` builds the OpenBao image of the PCI account's Transit server, with
# the same entrypoint. docs/operations.md has the whole procedure, digests included.
# No `# syntax=` line: it would fetch the Dockerfile frontend from a registry at every
# build, unpinned; BuildKit's built-in frontend reads everything used here, and a builder
# that reaches no registry can build it (`make image-check` does, on stand-in bases
# given as PYTHON_IMAGE and NODE_IMAGE: docker/local-base.Dockerfile).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim
ARG OPENBAO_IMAGE=openbao/openbao:2.4.1

# strongroom.js, built by its committed lock file; the edge serves dist/ on the js host.
FROM ${NODE_IMAGE} AS js
WORKDIR /src/js-sdk
COPY js-sdk/package.json js-sdk/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY js-sdk/build.mjs ./
COPY js-sdk/src ./src
RUN npm run build

# The wheel of the repository (its C extension compiled here) and the wheels of its pins.
FROM ${PYTHON_IMAGE} AS wheels
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY strongroom ./strongroom
COPY servicekit ./servicekit
COPY vault ./vault
COPY settlement ./settlement
COPY vault_audit ./vault_audit
COPY vault_operator ./vault_operator
COPY edge_proxy ./edge_proxy
COPY router ./router
COPY api ./api
COPY fraud ./fraud
COPY card_network ./card_network
COPY merchant_demo ./merchant_demo
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# What runs: no compiler, no pip cache, no shell user, nothing writable but /tmp.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EDGE_JS_DIR=/opt/strongroom/js \
    VAULT_DATA_DIR=/tmp/strongroom \
    API_DATA_DIR=/tmp/strongroom
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels strongroom \
 && groupadd --gid 10001 strongroom \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin strongroom
COPY --from=js /src/js-sdk/dist /opt/strongroom/js
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/strongroom-entrypoint
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/strongroom-entrypoint", "python", "-m"]
CMD ["vault"]

# The Transit server (OpenBao) with the same *_PEM -> *_FILE entrypoint.
FROM ${OPENBAO_IMAGE} AS transit
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/strongroom-entrypoint
USER openbao
ENTRYPOINT ["/usr/local/bin/strongroom-entrypoint", "docker-entrypoint.sh"]
CMD ["server"]

# The default target is the Strongroom image.
FROM runtime
