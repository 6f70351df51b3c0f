//! Gate control lists as bridge configuration: the IEEE 802.1Qcw-2023
//! `ieee802-dot1q-sched-bridge` `gate-parameter-table` under
//! `interfaces/interface/bridge-port`, or the 2018 `ieee802-dot1q-sched`
//! `gate-parameters` that older devices speak; and the way back, from a datastore to
//! gate control lists (what the software bridge applies).

use tsn_model::{GateControlEntry, GateControlList, LinkId};

use crate::message::ModuleCapability;
use crate::xml::{Element, NC_NS};

/// ietf-interfaces namespace.
pub const IF_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
/// iana-if-type namespace.
pub const IANAIFT_NS: &str = "urn:ietf:params:xml:ns:yang:iana-if-type";
/// ieee802-dot1q-bridge namespace.
pub const BRIDGE_NS: &str = "urn:ieee:std:802.1Q:yang:ieee802-dot1q-bridge";
/// ieee802-dot1q-sched namespace (the identities; the 2018 gate-parameters).
pub const SCHED_NS: &str = "urn:ieee:std:802.1Q:yang:ieee802-dot1q-sched";
/// ieee802-dot1q-sched-bridge namespace (the 2023 gate-parameter-table nodes).
pub const SCHED_BRIDGE_NS: &str = "urn:ieee:std:802.1Q:yang:ieee802-dot1q-sched-bridge";

const NS_PER_S: u64 = 1_000_000_000;

/// Which scheduled-traffic model a device speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedVariant {
    /// 802.1Qcw-2023: `bridge-port/gate-parameter-table` (ieee802-dot1q-sched-bridge).
    Qcw2023,
    /// The 2018 `ieee802-dot1q-sched` (e.g. revision 2018-09-10): `interface/gate-parameters`
    /// with `admin-control-list-length`, `sgs-params` and `fractional-seconds`.
    Sched2018,
}

impl SchedVariant {
    /// The variant a device supports, from the modules of its hello or yang-library;
    /// `None` when it announces neither.
    pub fn detect(modules: &[ModuleCapability]) -> Option<SchedVariant> {
        if modules.iter().any(|m| m.module == "ieee802-dot1q-sched-bridge") {
            return Some(SchedVariant::Qcw2023);
        }
        let sched = modules.iter().find(|m| m.module == "ieee802-dot1q-sched")?;
        match sched.revision.as_deref() {
            Some(rev) if rev < "2020-01-01" => Some(SchedVariant::Sched2018),
            // A 2020+ sched without sched-bridge still has the grouping only; the bridge
            // augment is in sched-bridge, which the device lacks.
            Some(_) => None,
            None => Some(SchedVariant::Sched2018),
        }
    }
}

/// The `supported-*` capabilities of a port, sent with every 2023 gate table: the official
/// module's `must` statements compare against them and fail when they are missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortLimits {
    /// `supported-list-max`: most gate control entries.
    pub list_max: u32,
    /// `supported-cycle-max` in ns.
    pub cycle_max_ns: u64,
    /// `supported-interval-max` in ns.
    pub interval_max_ns: u32,
}

impl Default for PortLimits {
    fn default() -> Self {
        PortLimits { list_max: 1024, cycle_max_ns: NS_PER_S, interval_max_ns: 1_000_000_000 }
    }
}

/// How to render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The model.
    pub variant: SchedVariant,
    /// Absolute PTP time (ns since the PTP epoch) of the schedule's time origin: every
    /// GCL's `base_time_ns` is added to it.
    pub epoch_ns: u64,
    /// The ports' limits.
    pub limits: PortLimits,
    /// `admin-cycle-time-extension` in ns.
    pub cycle_time_extension_ns: u32,
    /// Add `nc:operation="replace"` on each gate table (for edit-config, so that entries of
    /// an older, longer list disappear). Off for plain instance documents.
    pub for_edit: bool,
}

impl RenderOptions {
    /// 2023 model, origin `epoch_ns`, default limits, for edit-config.
    pub fn new(variant: SchedVariant, epoch_ns: u64) -> Self {
        RenderOptions { variant, epoch_ns, limits: PortLimits::default(), cycle_time_extension_ns: 0, for_edit: true }
    }
}

/// A gate control list for one interface of a bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortGcl {
    /// The interface name on the device (`Link.ports.from_port`).
    pub interface: String,
    /// The list.
    pub gcl: GateControlList,
}

/// Why a GCL cannot be rendered for a port.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// More entries than the port supports.
    #[error("interface {interface}: {entries} gate control entries, the port supports {max}")]
    TooManyEntries {
        /// Interface.
        interface: String,
        /// Entries needed.
        entries: usize,
        /// supported-list-max.
        max: u32,
    },
    /// The cycle is longer than the port supports, zero, or not representable.
    #[error("interface {interface}: cycle time {cycle_ns} ns not supported ({reason})")]
    BadCycle {
        /// Interface.
        interface: String,
        /// The cycle.
        cycle_ns: u64,
        /// Why.
        reason: String,
    },
    /// Entries do not sum to the cycle, or an entry is empty.
    #[error("interface {interface}: {reason}")]
    BadEntries {
        /// Interface.
        interface: String,
        /// Why.
        reason: String,
    },
    /// A datastore's gate table could not be read back.
    #[error("interface {interface}: bad gate table: {reason}")]
    BadTable {
        /// Interface.
        interface: String,
        /// Why.
        reason: String,
    },
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `cycle_ns` as a reduced fraction of a second that fits the uint32 numerator and
/// denominator.
pub fn cycle_fraction(cycle_ns: u64) -> Option<(u32, u32)> {
    if cycle_ns == 0 {
        return None;
    }
    let g = gcd(cycle_ns, NS_PER_S);
    Some((u32::try_from(cycle_ns / g).ok()?, u32::try_from(NS_PER_S / g).ok()?))
}

/// The entries as the device gets them: intervals longer than the port's maximum are split
/// into consecutive entries with the same gate states.
fn device_entries(p: &PortGcl, limits: &PortLimits) -> Result<Vec<(u8, u32)>, RenderError> {
    let max = u64::from(limits.interval_max_ns.max(1));
    let mut out = Vec::new();
    let mut sum = 0u64;
    for e in &p.gcl.entries {
        if e.interval_ns == 0 {
            return Err(RenderError::BadEntries {
                interface: p.interface.clone(),
                reason: "an entry has a zero interval".into(),
            });
        }
        sum = sum.saturating_add(e.interval_ns);
        let mut left = e.interval_ns;
        while left > 0 {
            let part = left.min(max);
            out.push((e.gate_states, part as u32));
            left -= part;
        }
    }
    // No entries = the port's gate table switched off (gate-enabled false): nothing to sum.
    if !p.gcl.entries.is_empty() && sum != p.gcl.cycle_time_ns {
        return Err(RenderError::BadEntries {
            interface: p.interface.clone(),
            reason: format!("entries sum to {sum} ns, the cycle is {} ns", p.gcl.cycle_time_ns),
        });
    }
    if out.len() > limits.list_max as usize {
        return Err(RenderError::TooManyEntries {
            interface: p.interface.clone(),
            entries: out.len(),
            max: limits.list_max,
        });
    }
    Ok(out)
}

fn identity(ns: &str, name: &str, prefix: &str, id_ns: &str, id: &str) -> Element {
    let mut el = Element::new(Some(ns), name).with_text(format!("{prefix}:{id}"));
    el.text_ns = Some((prefix.to_owned(), id_ns.to_owned()));
    el
}

/// The `<interfaces>` element configuring `ports`.
pub fn render(ports: &[PortGcl], opts: &RenderOptions) -> Result<Element, RenderError> {
    let mut interfaces = Element::new(Some(IF_NS), "interfaces");
    for p in ports {
        let entries = device_entries(p, &opts.limits)?;
        let bad_cycle = |reason: &str| RenderError::BadCycle {
            interface: p.interface.clone(),
            cycle_ns: p.gcl.cycle_time_ns,
            reason: reason.into(),
        };
        if p.gcl.cycle_time_ns > opts.limits.cycle_max_ns {
            return Err(bad_cycle(&format!("supported-cycle-max is {} ns", opts.limits.cycle_max_ns)));
        }
        let (num, den) =
            cycle_fraction(p.gcl.cycle_time_ns).ok_or_else(|| bad_cycle("not a uint32 fraction of a second"))?;
        let base = opts.epoch_ns.saturating_add(p.gcl.base_time_ns);
        let (secs, nanos) = (base / NS_PER_S, (base % NS_PER_S) as u32);
        let enabled = !entries.is_empty();
        let mut iface = Element::new(Some(IF_NS), "interface").with_leaf("name", &p.interface).with_child(identity(
            IF_NS,
            "type",
            "ianaift",
            IANAIFT_NS,
            "ethernetCsmacd",
        ));
        let table = match opts.variant {
            SchedVariant::Qcw2023 => {
                let ns = SCHED_BRIDGE_NS;
                let mut list = Element::new(Some(ns), "admin-control-list");
                for (i, (gates, interval)) in entries.iter().enumerate() {
                    list.children.push(
                        Element::new(Some(ns), "gate-control-entry")
                            .with_leaf("index", i)
                            .with_child(identity(ns, "operation-name", "sched", SCHED_NS, "set-gate-states"))
                            .with_leaf("time-interval-value", interval)
                            .with_leaf("gate-states-value", gates),
                    );
                }
                let (max_num, max_den) = cycle_fraction(opts.limits.cycle_max_ns).unwrap_or((1, 1));
                Element::new(Some(ns), "gate-parameter-table")
                    .with_leaf("gate-enabled", enabled)
                    .with_leaf("admin-gate-states", 255)
                    .with_child(list)
                    .with_child(
                        Element::new(Some(ns), "admin-cycle-time")
                            .with_leaf("numerator", num)
                            .with_leaf("denominator", den),
                    )
                    .with_leaf("admin-cycle-time-extension", opts.cycle_time_extension_ns)
                    .with_child(
                        Element::new(Some(ns), "admin-base-time")
                            .with_leaf("seconds", secs)
                            .with_leaf("nanoseconds", nanos),
                    )
                    .with_leaf("config-change", true)
                    .with_leaf("supported-list-max", opts.limits.list_max)
                    .with_child(
                        Element::new(Some(ns), "supported-cycle-max")
                            .with_leaf("numerator", max_num)
                            .with_leaf("denominator", max_den),
                    )
                    .with_leaf("supported-interval-max", opts.limits.interval_max_ns)
            }
            SchedVariant::Sched2018 => {
                let ns = SCHED_NS;
                let mut t = Element::new(Some(ns), "gate-parameters")
                    .with_leaf("gate-enabled", enabled)
                    .with_leaf("admin-gate-states", 255)
                    .with_leaf("admin-control-list-length", entries.len());
                for (i, (gates, interval)) in entries.iter().enumerate() {
                    t.children.push(
                        Element::new(Some(ns), "admin-control-list")
                            .with_leaf("index", i)
                            .with_child(identity(ns, "operation-name", "sched", SCHED_NS, "set-gate-states"))
                            .with_child(
                                Element::new(Some(ns), "sgs-params")
                                    .with_leaf("gate-states-value", gates)
                                    .with_leaf("time-interval-value", interval),
                            ),
                    );
                }
                t.with_child(
                    Element::new(Some(ns), "admin-cycle-time")
                        .with_leaf("numerator", num)
                        .with_leaf("denominator", den),
                )
                .with_leaf("admin-cycle-time-extension", opts.cycle_time_extension_ns)
                .with_child(
                    Element::new(Some(ns), "admin-base-time")
                        .with_leaf("seconds", secs)
                        .with_leaf("fractional-seconds", nanos),
                )
                .with_leaf("config-change", true)
            }
        };
        let table = if opts.for_edit { table.with_attr(Some(NC_NS), "operation", "replace") } else { table };
        match opts.variant {
            SchedVariant::Qcw2023 => {
                iface.children.push(Element::new(Some(BRIDGE_NS), "bridge-port").with_child(table))
            }
            SchedVariant::Sched2018 => iface.children.push(table),
        }
        interfaces.children.push(iface);
    }
    Ok(interfaces)
}

/// A gate table read back from a datastore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateTable {
    /// The interface.
    pub interface: String,
    /// `gate-enabled`.
    pub gate_enabled: bool,
    /// The admin list; `port` is `bridge → interface` (the bridge does not know its
    /// neighbours), `base_time_ns` is absolute PTP time.
    pub gcl: GateControlList,
    /// The `supported-*` values the table carries (2023 only).
    pub limits: Option<PortLimits>,
}

fn num<T: std::str::FromStr>(el: &Element, name: &str, interface: &str) -> Result<Option<T>, RenderError> {
    match el.child_text(name) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| RenderError::BadTable {
            interface: interface.to_owned(),
            reason: format!("{name} = {s:?} is not a number"),
        }),
    }
}

/// Every gate table of the `<interfaces>` under `data` (a `<data>`/`<config>` element), in
/// either variant.
pub fn gate_tables(data: &Element, bridge: &str) -> Result<Vec<GateTable>, RenderError> {
    let mut out = Vec::new();
    let Some(interfaces) = data.child_ns(IF_NS, "interfaces") else { return Ok(out) };
    for iface in interfaces.children.iter().filter(|c| c.name == "interface") {
        let name = iface.child_text("name").unwrap_or_default().to_owned();
        let bad = |reason: &str| RenderError::BadTable { interface: name.clone(), reason: reason.into() };
        let (table, v2018) = if let Some(t) =
            iface.child_ns(BRIDGE_NS, "bridge-port").and_then(|b| b.child_ns(SCHED_BRIDGE_NS, "gate-parameter-table"))
        {
            (t, false)
        } else if let Some(t) = iface.child_ns(SCHED_NS, "gate-parameters") {
            (t, true)
        } else {
            continue;
        };
        let mut rows: Vec<(u32, u8, u64)> = Vec::new();
        let entries: Vec<&Element> = if v2018 {
            table.children.iter().filter(|c| c.name == "admin-control-list").collect()
        } else {
            table
                .child("admin-control-list")
                .map(|l| l.children.iter().filter(|c| c.name == "gate-control-entry").collect())
                .unwrap_or_default()
        };
        for e in entries {
            let params = if v2018 { e.child("sgs-params").ok_or_else(|| bad("entry without sgs-params"))? } else { e };
            let index: u32 = num(e, "index", &name)?.ok_or_else(|| bad("entry without index"))?;
            let gates: u8 =
                num(params, "gate-states-value", &name)?.ok_or_else(|| bad("entry without gate-states-value"))?;
            let interval: u64 = num(params, "time-interval-value", &name)?.unwrap_or(0);
            if let Some(op) = e.child("operation-name") {
                if op.local_text() != "set-gate-states" {
                    return Err(bad(&format!("operation {} not supported", op.text.trim())));
                }
            }
            rows.push((index, gates, interval));
        }
        rows.sort_by_key(|r| r.0);
        let cycle = table.child("admin-cycle-time");
        let (n, d): (u64, u64) = match cycle {
            Some(c) => (num(c, "numerator", &name)?.unwrap_or(0), num(c, "denominator", &name)?.unwrap_or(1)),
            None => (0, 1),
        };
        if d == 0 {
            return Err(bad("admin-cycle-time denominator is 0"));
        }
        let cycle_ns = (u128::from(n) * u128::from(NS_PER_S) / u128::from(d)) as u64;
        let base = table.child("admin-base-time");
        let (secs, nanos): (u64, u64) = match base {
            Some(b) => (
                num(b, "seconds", &name)?.unwrap_or(0),
                num(b, if v2018 { "fractional-seconds" } else { "nanoseconds" }, &name)?.unwrap_or(0),
            ),
            None => (0, 0),
        };
        let gate_enabled = table.child_text("gate-enabled") == Some("true");
        let limits = if v2018 {
            None
        } else {
            let list_max = num(table, "supported-list-max", &name)?;
            let interval_max = num(table, "supported-interval-max", &name)?;
            let cycle_max = table.child("supported-cycle-max").map(|c| -> Result<u64, RenderError> {
                let n: u64 = num(c, "numerator", &name)?.unwrap_or(0);
                let d: u64 = num(c, "denominator", &name)?.unwrap_or(1).max(1);
                Ok((u128::from(n) * u128::from(NS_PER_S) / u128::from(d)) as u64)
            });
            match (list_max, interval_max, cycle_max) {
                (Some(list_max), Some(interval_max_ns), Some(c)) => {
                    Some(PortLimits { list_max, interval_max_ns, cycle_max_ns: c? })
                }
                _ => None,
            }
        };
        out.push(GateTable {
            interface: name.clone(),
            gate_enabled,
            gcl: GateControlList {
                port: LinkId::new(bridge, name.as_str()),
                base_time_ns: secs.saturating_mul(NS_PER_S).saturating_add(nanos),
                cycle_time_ns: cycle_ns,
                entries: rows
                    .into_iter()
                    .map(|(_, g, i)| GateControlEntry { gate_states: g, interval_ns: i })
                    .collect(),
            },
            limits,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn port(entries: &[(u8, u64)], base: u64) -> PortGcl {
        PortGcl {
            interface: "swp1".into(),
            gcl: GateControlList {
                port: LinkId::new("br0", "swp1"),
                base_time_ns: base,
                cycle_time_ns: entries.iter().map(|e| e.1).sum(),
                entries: entries.iter().map(|&(g, i)| GateControlEntry { gate_states: g, interval_ns: i }).collect(),
            },
        }
    }

    #[test]
    fn variant_detection() {
        let m = |name: &str, rev: &str| ModuleCapability {
            namespace: "urn:x".into(),
            module: name.into(),
            revision: Some(rev.into()),
        };
        assert_eq!(
            SchedVariant::detect(&[
                m("ieee802-dot1q-sched", "2023-10-22"),
                m("ieee802-dot1q-sched-bridge", "2023-10-26")
            ]),
            Some(SchedVariant::Qcw2023)
        );
        assert_eq!(SchedVariant::detect(&[m("ieee802-dot1q-sched", "2018-09-10")]), Some(SchedVariant::Sched2018));
        assert_eq!(SchedVariant::detect(&[m("ietf-interfaces", "2018-02-20")]), None);
    }

    #[test]
    fn a_port_without_entries_is_switched_off() {
        let mut p = port(&[], 0);
        p.gcl.cycle_time_ns = 500_000;
        let xml = render(&[p], &RenderOptions::new(SchedVariant::Qcw2023, 0)).unwrap();
        let text = xml.to_xml();
        assert!(text.contains("gate-enabled>false</"), "{text}");
        assert!(!text.contains("gate-control-entry"), "{text}");
    }

    #[test]
    fn long_intervals_split_and_limits_refuse() {
        let p = port(&[(0x80, 3_000_000_000), (0x7f, 1_000)], 0);
        let opts = RenderOptions {
            limits: PortLimits { list_max: 8, cycle_max_ns: 10 * NS_PER_S, interval_max_ns: 1_000_000_000 },
            ..RenderOptions::new(SchedVariant::Qcw2023, 0)
        };
        let el = render(std::slice::from_ref(&p), &opts).unwrap();
        let back = gate_tables(&Element::new(None, "data").with_child(el), "br0").unwrap();
        assert_eq!(back[0].gcl.entries.len(), 4);
        assert_eq!(back[0].gcl.cycle_time_ns, p.gcl.cycle_time_ns);
        let tight = RenderOptions { limits: PortLimits { list_max: 3, ..opts.limits }, ..opts.clone() };
        assert!(matches!(
            render(std::slice::from_ref(&p), &tight),
            Err(RenderError::TooManyEntries { entries: 4, max: 3, .. })
        ));
        let short = RenderOptions { limits: PortLimits { cycle_max_ns: NS_PER_S, ..opts.limits }, ..opts };
        assert!(matches!(render(&[p], &short), Err(RenderError::BadCycle { .. })));
    }

    proptest! {
        #[test]
        fn render_then_read_back(entries in proptest::collection::vec((any::<u8>(), 1u64..200_000_000), 1..20), base in 0u64..1u64<<50, epoch in 0u64..1u64<<60, v2018: bool) {
            let p = port(&entries, base);
            let variant = if v2018 { SchedVariant::Sched2018 } else { SchedVariant::Qcw2023 };
            let opts = RenderOptions { limits: PortLimits { list_max: 64, cycle_max_ns: 10 * NS_PER_S, interval_max_ns: u32::MAX }, ..RenderOptions::new(variant, epoch) };
            let el = render(std::slice::from_ref(&p), &opts).unwrap();
            // through text, as on the wire
            let data = Element::parse(&format!("<data xmlns=\"{NC_NS}\">{}</data>", el.to_xml())).unwrap();
            let back = gate_tables(&data, "br0").unwrap();
            prop_assert_eq!(back.len(), 1);
            prop_assert!(back[0].gate_enabled);
            prop_assert_eq!(back[0].gcl.base_time_ns, epoch + base);
            prop_assert_eq!(&back[0].gcl.entries, &p.gcl.entries);
            prop_assert_eq!(back[0].gcl.cycle_time_ns, p.gcl.cycle_time_ns);
        }
    }
}
