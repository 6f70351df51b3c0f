//! The `topology` binary: `topology [--config topology.toml]`, settings as
//! [`tsn_topology::TopologyConfig`] with `TSN_TOPOLOGY_*` environment overrides (e.g.
//! `TSN_TOPOLOGY_BUS__URL`), run by the shared service runtime (logs, `/healthz`,
//! `/metrics`, SIGTERM).

fn main() -> std::process::ExitCode {
    tsn_service::main(
        "topology",
        "TSN_TOPOLOGY",
        |c: &tsn_topology::TopologyConfig| &c.ops,
        |c| &c.bus,
        tsn_topology::run,
    )
}
