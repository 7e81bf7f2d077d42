# The smith image for a role whose handlers are Python (docs/PYTHON.md): the smith binary and
# the libraries it loads, taken from the smith image, on a Debian base with Python 3, msgpack
# (Debian's python3-msgpack) and the SDK's package (clients/python/mistersmith), and a venv at
# /opt/venv that sees them (--system-site-packages), first in PATH, for your own dependencies.
# Nothing comes from PyPI here; the SDK's client side also needs nats-py: add it in your layer.
#
#   FROM mistersmith/smith-python:local
#   COPY my_handlers/ /home/smith/my_handlers/
#   RUN pip install --no-cache-dir -r /home/smith/my_handlers/requirements.txt
#   CMD ["worker", "--handler-process", "python3 -m my_handlers"]
#
# Built by `deploy/docker/build --python` after the smith image (SMITH_IMAGE), from the same
# Debian release (BUILD_IMAGE), so the libraries are the ones smith was built against.
ARG SMITH_IMAGE=mistersmith/smith:local
ARG BUILD_IMAGE=debian:bookworm

FROM ${SMITH_IMAGE} AS smith

FROM ${BUILD_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-msgpack python3-venv \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# smith, and each library it loads that the base does not already have (same release: the
# ones it has are the same files).
COPY --from=smith / /opt/smith-root/
RUN set -eu; cd /opt/smith-root; \
    cp usr/bin/smith /usr/bin/smith; \
    mkdir -p /etc/smith; cp etc/smith/tools.json /etc/smith/tools.json; \
    for f in $(find lib lib64 usr/lib -type f 2>/dev/null); do \
      [ -e "/$f" ] || { mkdir -p "/$(dirname "$f")"; cp "$f" "/$f"; }; \
    done; \
    cd /; rm -rf /opt/smith-root; ldconfig; smith --version
COPY clients/python/mistersmith /usr/lib/python3/dist-packages/mistersmith
RUN python3 -c "import mistersmith; print('mistersmith', mistersmith.__version__)" \
 && python3 -m venv --system-site-packages /opt/venv \
 && useradd --uid 10001 --create-home --home-dir /home/smith --shell /usr/sbin/nologin smith
ENV PATH=/opt/venv/bin:/usr/bin:/bin \
    TMPDIR=/tmp \
    SMITH_HTTP_PORT=8080 \
    SMITH_GATEWAY_TOOLS=/etc/smith/tools.json
USER 10001:10001
WORKDIR /home/smith
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/usr/bin/smith", "health", "--url", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/usr/bin/smith"]
CMD ["--help"]
