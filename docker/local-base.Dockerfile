# Stand-ins for the public base images, for a machine that reaches Debian's packages,
# PyPI and npm but no image registry (scripts/image_check.sh builds them). They start
# from a Debian bookworm made by debootstrap and imported with `docker import`, and give
# the main Dockerfile what its FROM images give it: `python` and `pip` of Python 3.11
# with its headers (as python:3.11-slim-bookworm), `node` and `npm` (as
# node:22-bookworm-slim, but Debian's Node 18, which the SDK's "engines" accepts).
# The build context's ca/ holds the certificate authorities this machine adds to its
# own trust (/usr/local/share/ca-certificates: a site's TLS-inspecting egress proxy, say),
# so that pip and npm inside the build reach PyPI and npm as the machine itself does.
# apt-get clean: a debootstrapped Debian keeps the downloaded packages, where the official
# images are set up to drop them. Never pushed: real images start from the public bases,
# pinned by digest.

ARG DEBIAN_IMAGE=strongroom-local/debian:bookworm

FROM ${DEBIAN_IMAGE} AS python
ENV LANG=C.UTF-8
COPY ca/ /usr/local/share/ca-certificates/
# The official image's Python lives in /usr/local and is not marked externally managed;
# Debian's is, and pip would refuse to install the wheel system-wide without this.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-dev \
      python3-pip python-is-python3 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED

FROM ${DEBIAN_IMAGE} AS node
ENV LANG=C.UTF-8 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
