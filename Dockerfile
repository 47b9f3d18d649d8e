# Builds kinerjad and kinerjactl into a small image (see docker-compose.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/kinerjad ./cmd/kinerjad && \
    CGO_ENABLED=0 go build -trimpath -o /out/kinerjactl ./cmd/kinerjactl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kinerjad"]
