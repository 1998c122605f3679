# Cadenza's production image: one static-ish binary on a slim Debian.
# Native libraries (SQLite, libpq, OpenSSL) are compiled into the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin cadenza \
 && cp target/release/cadenza /cadenza

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/cadenza --create-home cadenza
COPY --from=build /cadenza /usr/local/bin/cadenza
USER cadenza
WORKDIR /var/lib/cadenza
ENV CADENZA__SERVER__HOST=0.0.0.0 \
    CADENZA__DATA_DIR=/var/lib/cadenza
EXPOSE 8080
# tini forwards SIGTERM so requests drain and jobs are finished or released.
ENTRYPOINT ["/usr/bin/tini", "--", "cadenza"]
CMD ["serve"]
