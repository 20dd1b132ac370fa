# trialscreen: a static Go binary in a minimal non-root image.
#
#   docker build --build-arg VERSION=1.2.3 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t trialscreen:1.2.3 .
#
# Base images are build arguments, so that a registry mirror can be used:
#   --build-arg GO_IMAGE=mirror.example.org/library/golang:1.26-bookworm
#   --build-arg RUNTIME_IMAGE=mirror.example.org/distroless/static-debian12:nonroot
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz on the metrics port
# (deploy/kubernetes).
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo, so no libc in the runtime image), reproducible paths, no debug info.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/trialscreen ./cmd/trialscreen

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/trialscreen/trialscreen
LABEL org.opencontainers.image.title="trialscreen" \
      org.opencontainers.image.description="Clinical trial pre-screening for the anti-BCMA CAR-T trial: REST, CDS Hooks and a coordinator's report over a FHIR R4 server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/trialscreen /trialscreen
# The protocol and the demo patients are embedded in the binary; the files are shipped
# too so that operators can read exactly what is checked and what the demo serves.
COPY protocols/*.yaml /protocols/
COPY demo/patients/ /demo/patients/
# distroless's nonroot user; numeric so that runAsNonRoot can verify it.
USER 65532:65532
# The service's own files (the SQLite store, the terminology cache) under /tmp, which
# the image's user may write (and the Deployment mounts as an emptyDir): the working
# directory, /, is read-only to it. Several replicas share a store only through
# TRIALSCREEN_DATABASE_URL (PostgreSQL).
ENV TRIALSCREEN_DATA_DIR=/tmp/trialscreen-data
# 8080: the API (TRIALSCREEN_LISTEN). 9090: /metrics and the probes
# (TRIALSCREEN_METRICS_LISTEN), for the monitoring system only.
EXPOSE 8080 9090
ENTRYPOINT ["/trialscreen"]
CMD ["serve"]
