# One image holds every tsn-cp binary; compose and Kubernetes pick the binary per service.
#   docker build -t tsn-cp:dev .
# Build stage: the same system packages as scripts/setup (HiGHS is built from source by
# highs-sys with cmake; libyang through bindgen needs clang).
FROM rust:1.88-bookworm AS build
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends cmake clang libclang-dev protobuf-compiler \
      pkg-config libyang2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
      -p uni-gateway -p topology -p preprocess -p scheduler -p southbound -p node-agent -p tsnctl -p ktsn-shim \
 && mkdir /out \
 && cp target/release/uni-gateway target/release/topology target/release/preprocess \
       target/release/scheduler target/release/southbound target/release/node-agent \
       target/release/tsnctl target/release/libktsn.so /out/

# Runtime: libyang for RESTCONF/NETCONF validation (yanglint for the NETCONF server of the
# bridge role), nothing else.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libyang2 libyang2-tools ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/tsn-cp --create-home tsn-cp
COPY --from=build /out/ /usr/local/bin/
RUN mv /usr/local/bin/libktsn.so /usr/local/lib/libktsn.so
COPY k8s/config/ /etc/tsn-cp/
COPY examples/demo-topology.json /etc/tsn-cp/demo-topology.json
USER tsn-cp
WORKDIR /var/lib/tsn-cp
# Every service answers /healthz on its ops port (see the per-service configuration).
CMD ["tsnctl", "--help"]
