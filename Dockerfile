# syntax=docker/dockerfile:1
#
# pskeys in a container: the binary alone on a distroless base, run as a non-root user in
# /work, where you mount your project.
#
#   docker build -t pskeys .
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" pskeys init --alg ES256
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" -p 127.0.0.1:6060:6060 \
#     pskeys serve --host 0.0.0.0
#
# examples/compose/ runs it next to the PowerSync Service. Needs BuildKit (the default
# builder since Docker 23) for the cache mounts.

# The crate's rust-version (Cargo.toml) or newer.
ARG RUST_VERSION=1.89

FROM rust:${RUST_VERSION}-slim-bookworm AS builder

# AWS-LC otherwise seeds its random generator from CPU jitter entropy as well as the OS:
# +30 ms on every ES256/RS256 mint (a short-lived process pays it on its first random
# byte). .cargo/config.toml sets it too; explicit here so the image never depends on it.
ENV AWS_LC_SYS_NO_JITTER_ENTROPY=1
# aws-lc-sys 0.47 builds AWS-LC with the cc crate and its pregenerated bindings on
# x86_64 and aarch64 Linux: the image's gcc is all it needs (cmake and Go only for FIPS
# builds, clang only for targets without pregenerated bindings).

# `pskeys --version` names this commit (.git is not in the build context):
#   docker build --build-arg PSKEYS_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" -t pskeys .
ARG PSKEYS_BUILD_COMMIT=""

WORKDIR /src
# Only what `cargo build` reads (.dockerignore is the same allowlist): editing the README
# or the tests does not rebuild the image. benches/mint.rs because Cargo.toml declares that
# bench, and cargo reads every declared target.
COPY Cargo.toml Cargo.lock build.rs ./
COPY .cargo/ .cargo/
COPY benches/mint.rs benches/mint.rs
COPY templates/ templates/
COPY src/ src/

# Cache mounts: crates.io downloads and compiled dependencies survive between builds, so a
# change in src/ recompiles pskeys alone. The binary is copied out of the cached target/.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin pskeys \
    && install -D -m 0755 target/release/pskeys /out/pskeys

FROM gcr.io/distroless/cc-debian12:nonroot

LABEL org.opencontainers.image.title="pskeys" \
      org.opencontainers.image.description="Bootstrap PowerSync client auth: a signing key in .env, the public key patched into the service config, tokens the service accepts, a local JWKS and token server." \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder /out/pskeys /usr/local/bin/pskeys

# distroless' `nonroot` user; `docker run -u "$(id -u):$(id -g)"` to read and write a
# project (a 0600 .env) that you own.
USER 65532:65532
WORKDIR /work
# `pskeys serve` (listen on all interfaces in a container: serve --host 0.0.0.0).
EXPOSE 6060

ENTRYPOINT ["pskeys"]
CMD ["--help"]
