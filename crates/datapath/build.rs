//! With the `dpdk` feature: compiles `csrc/tsn_dpdk.c` against the system DPDK (pkg-config
//! `libdpdk`, Debian libdpdk-dev) and links it. Without it: nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "dpdk")]
    dpdk();
}

#[cfg(feature = "dpdk")]
fn dpdk() {
    // Read at run time, never `env!`: the compiled build script is reused across checkouts.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let src = format!("{manifest_dir}/csrc/tsn_dpdk.c");
    println!("cargo:rerun-if-changed={src}");
    let lib = match pkg_config::Config::new().cargo_metadata(true).probe("libdpdk") {
        Ok(lib) => lib,
        Err(e) => panic!("feature `dpdk` needs libdpdk-dev (pkg-config libdpdk): {e}"),
    };
    let mut build = cc::Build::new();
    build.file(&src).flag("-include").flag("rte_config.h").flag_if_supported("-march=corei7").warnings(false);
    for p in &lib.include_paths {
        build.include(p);
    }
    build.compile("tsn_dpdk");
    let libdir = pkg_config::get_variable("libdpdk", "libdir").unwrap_or_else(|_| "/usr/lib".into());
    println!("cargo:rustc-env=TSN_DPDK_LIBDIR={libdir}");
    // rte_vdev_init lives in the vdev bus library, which libdpdk.pc lists only for static use.
    println!("cargo:rustc-link-lib=dylib=rte_bus_vdev");
}
