# The pinned nats-server release (deploy/nats/server-requirements.txt) as an image, for machines
# that cannot pull the official one (compose uses ${NATS_IMAGE:-nats:2.15.1-alpine};
# deploy/docker/build --nats makes this one as mistersmith/nats:local). The build context is
# only the binary that scripts/install-nats-server installed (checked against its sha256 by
# pip); it is static, so the image holds it, busybox for `sh` and `wget` (the compose health
# checks are the same commands as with the official alpine image) and CA certificates. The
# entrypoint is nats-server: `command: ["--config", ...]` works with both images.
ARG BUILD_IMAGE=debian:bookworm
ARG RUNTIME_BASE=scratch

FROM ${BUILD_IMAGE} AS build
ARG NATS_VERSION
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends busybox-static ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY nats-server /rootfs/usr/bin/nats-server
RUN set -eu; r=/rootfs; \
    mkdir -p "$r/bin" "$r/etc/ssl/certs" "$r/etc/nats" "$r/data" "$r/tmp"; \
    cp /bin/busybox "$r/bin/busybox"; \
    for tool in sh wget sleep cat ls; do ln -s busybox "$r/bin/$tool"; done; \
    cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnats:x:10002:10002:nats:/data:/sbin/nologin\n' > "$r/etc/passwd"; \
    printf 'root:x:0:\nnats:x:10002:\n' > "$r/etc/group"; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$r/etc/nsswitch.conf"; \
    chown 10002:10002 "$r/data"; chmod 1777 "$r/tmp"; chmod 0755 "$r/usr/bin/nats-server"; \
    "$r/usr/bin/nats-server" --version | grep -qx "nats-server: v${NATS_VERSION:?}"

FROM ${RUNTIME_BASE}
COPY --from=build /rootfs/ /
ENV PATH=/usr/bin:/bin
# A named volume mounted on /data starts with this ownership, so the server need not be root.
USER 10002:10002
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/bin/nats-server"]
CMD ["--jetstream", "--store_dir", "/data", "--http_port", "8222"]
