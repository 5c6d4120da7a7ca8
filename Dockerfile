# Tenantry as a container: a static binary (pure-Go SQLite, no cgo) on an
# empty base image, run as an unprivileged user. Build and run:
#
#   docker build -t tenantry .
#   docker run -p 8080:8080 -v tenantry-data:/data tenantry
#
# then, once, add an admin:
#
#   docker run --rm -it -v tenantry-data:/data tenantry users add you@example.com
#
# The README's production guide covers TLS, secrets and backups.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# timetzdata embeds the zone database: the final image has none.
RUN CGO_ENABLED=0 go build -trimpath -tags timetzdata -ldflags="-s -w" -o /out/tenantry ./cmd/tenantry
# The data volume and a temporary directory (SQLite's sort files, uploads)
# belong to the user the console runs as.
RUN mkdir -p /out/data /out/tmp && chown 65532:65532 /out/data && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/tenantry /usr/local/bin/tenantry
USER 65532:65532
ENV TENANTRY_DATA=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tenantry"]
# Inside a container the console must listen on every interface for the
# published port to reach it; put it behind a TLS proxy (README).
CMD ["serve", "--addr", "0.0.0.0:8080"]
