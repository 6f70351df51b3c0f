//! The product's YANG modules (`yang/` at the repository root), embedded at compile time.
//!
//! To make another module of `yang/` available, add a constant here and list it in [`ALL`].

/// One embedded YANG module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YangModule {
    /// Module name.
    pub name: &'static str,
    /// Revision (the first `revision` statement).
    pub revision: &'static str,
    /// The module text.
    pub text: &'static str,
}

/// `ieee802-dot1q-tsn-types` (structure of IEEE Std 802.1Q-2022, 46.3).
pub const TSN_TYPES: YangModule = YangModule {
    name: "ieee802-dot1q-tsn-types",
    revision: "2022-10-29",
    text: include_str!("../../../yang/ieee802-dot1q-tsn-types@2022-10-29.yang"),
};

/// `ieee802-dot1q-cnc-config` (structure of IEEE Std 802.1Qdj-2024).
pub const CNC_CONFIG: YangModule = YangModule {
    name: "ieee802-dot1q-cnc-config",
    revision: "2024-01-31",
    text: include_str!("../../../yang/ieee802-dot1q-cnc-config@2024-01-31.yang"),
};

/// Every embedded module.
pub const ALL: &[YangModule] = &[TSN_TYPES, CNC_CONFIG];
