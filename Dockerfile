# Multi-stage build: compile in the Rust image, run as a non-root user in a slim Debian image.
# SQLite is compiled into the binary (bundled libsqlite3), so the runtime image needs no extra packages.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin emulator \
    && mkdir -p /data \
    && chown emulator:emulator /data
COPY --from=build /src/target/release/cloudpc-emulator /usr/local/bin/cloudpc-emulator
# Listening on every interface of the container needs an admin token: run with -e EMULATOR_ADMIN_TOKEN=… (the
# compose file requires one).
ENV EMULATOR_LISTEN=0.0.0.0:8080 \
    EMULATOR_DATABASE=/data/cloudpc-emulator.db
VOLUME ["/data"]
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/cloudpc-emulator", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/cloudpc-emulator"]
