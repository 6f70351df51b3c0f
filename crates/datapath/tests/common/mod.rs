//! Shared helpers of the namespace tests.

#![allow(dead_code)]

/// The namespace tests need root and iproute2 (CI runs as root): fail loudly otherwise.
pub fn require_root() {
    assert!(tsn_datapath::netns::available(), "this test needs root and iproute2 (network namespaces, AF_PACKET)");
}
