# Builds kinerjad, kinerjactl and projector into a small non-root image
# (see docker-compose.yml). deploy_test.go checks this file and runs its
# entrypoint steps as the image's user.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/bin/kinerjad ./cmd/kinerjad && \
    CGO_ENABLED=0 go build -trimpath -o /out/bin/kinerjactl ./cmd/kinerjactl && \
    CGO_ENABLED=0 go build -trimpath -o /out/bin/projector ./cmd/projector && \
    mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/ /usr/local/bin/
# /data must exist in the image and belong to the user kinerjad runs as: a
# new named volume mounted there takes the directory's ownership from the
# image. Without this the volume is root-owned and the first start fails
# with "permission denied".
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV KINERJA_DATA=/data KINERJA_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=12 \
    CMD ["/usr/local/bin/kinerjactl", "health", "--url", "http://127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/kinerjad"]
