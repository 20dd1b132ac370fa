# trialscreen: a static Go binary in a minimal non-root image.
# Base images are build arguments so that a registry mirror can be used.
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/trialscreen ./cmd/trialscreen

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="trialscreen" \
      org.opencontainers.image.description="Clinical trial pre-screening for the anti-BCMA CAR-T trial" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# The protocol file and the demo patients are embedded in the binary; the file is also
# shipped so that operators can read exactly what is checked.
COPY --from=build /out/trialscreen /trialscreen
COPY protocols/anti-bcma-cart-rrmm.yaml /protocols/anti-bcma-cart-rrmm.yaml
USER 65532:65532
ENTRYPOINT ["/trialscreen"]
CMD ["screen", "--demo", "candidate"]
