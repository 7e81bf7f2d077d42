# A nats-server image built from Debian's nats-server package, for machines that cannot pull
# the official image (compose uses ${NATS_IMAGE:-nats:2.10-alpine}; deploy/docker/build makes
# this one as mistersmith/nats:local). It holds the server, the libraries it loads, and
# busybox for `sh` and `wget`, so the compose health checks are the same commands as with the
# official alpine image. The entrypoint is nats-server: `command: ["--config", ...]` works
# with both images.
ARG BUILD_IMAGE=debian:bookworm
ARG RUNTIME_BASE=scratch

FROM ${BUILD_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends nats-server busybox-static ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN set -eu; r=/rootfs; \
    mkdir -p "$r/usr/bin" "$r/bin" "$r/etc/ssl/certs" "$r/etc/nats" "$r/data" "$r/tmp"; \
    cp /usr/sbin/nats-server "$r/usr/bin/nats-server"; \
    for f in $(ldd /usr/sbin/nats-server | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do \
      mkdir -p "$r$(dirname "$f")"; cp -L "$f" "$r$f"; \
    done; \
    cp /bin/busybox "$r/bin/busybox"; \
    for tool in sh wget sleep cat ls; do ln -s busybox "$r/bin/$tool"; done; \
    cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnats:x:10002:10002:nats:/data:/sbin/nologin\n' > "$r/etc/passwd"; \
    printf 'root:x:0:\nnats:x:10002:\n' > "$r/etc/group"; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$r/etc/nsswitch.conf"; \
    chown 10002:10002 "$r/data"; chmod 1777 "$r/tmp"; \
    "$r/usr/bin/nats-server" --version

FROM ${RUNTIME_BASE}
COPY --from=build /rootfs/ /
ENV PATH=/usr/bin:/bin
# A named volume mounted on /data starts with this ownership, so the server need not be root.
USER 10002:10002
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/bin/nats-server"]
CMD ["--jetstream", "--store_dir", "/data", "--http_port", "8222"]
