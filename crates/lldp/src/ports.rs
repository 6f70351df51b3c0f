//! The state of a device's own interfaces, read from Linux sysfs over SSH.
//!
//! LLDP says who is at the other end of a port, not how fast the port is or whether it is
//! up; the topology service reads that from `/sys/class/net` with [`PORT_TABLE_COMMAND`],
//! which prints one line per interface: `name|mac|speed|operstate` (`speed` in Mb/s as the
//! kernel reports it, `-1` when unknown, e.g. a veth that is down).

use crate::LldpError;

/// A POSIX shell command that prints the port table of a Linux device.
pub const PORT_TABLE_COMMAND: &str = "for d in /sys/class/net/*; do n=${d##*/}; \
printf '%s|%s|%s|%s\\n' \"$n\" \"$(cat \"$d/address\" 2>/dev/null)\" \
\"$(cat \"$d/speed\" 2>/dev/null || echo -1)\" \"$(cat \"$d/operstate\" 2>/dev/null)\"; done";

/// One interface of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortState {
    /// Interface name.
    pub name: String,
    /// MAC address, lower case `aa:bb:cc:dd:ee:ff`; `None` for interfaces without one.
    pub mac: Option<String>,
    /// Line rate in bits per second; `None` when the kernel does not know it.
    pub speed_bps: Option<u64>,
    /// Operational state as the kernel names it (`up`, `down`, `lowerlayerdown`, `unknown`).
    pub operstate: String,
}

impl PortState {
    /// Whether frames can pass: operstate `up`, or `unknown` (drivers that do not report
    /// one, e.g. some virtual interfaces, are treated as up).
    pub fn is_up(&self) -> bool {
        matches!(self.operstate.as_str(), "up" | "unknown")
    }
}

/// Parses the output of [`PORT_TABLE_COMMAND`].
///
/// # Errors
///
/// [`LldpError::Invalid`] for a line that does not have four `|`-separated fields, an
/// empty name, a malformed MAC address or speed.
pub fn parse_port_table(text: &str) -> Result<Vec<PortState>, LldpError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let context = format!("port table line {}", i + 1);
        let invalid = |field: &'static str, value: &str| LldpError::Invalid {
            context: context.clone(),
            field,
            value: value.to_owned(),
        };
        let fields: Vec<&str> = line.split('|').collect();
        let [name, mac, speed, operstate] = fields[..] else {
            return Err(invalid("line", line));
        };
        if name.is_empty() || name.len() > 64 || name.contains(char::is_whitespace) {
            return Err(invalid("interface name", name));
        }
        let mac = match mac.trim() {
            "" => None,
            m if is_mac(m) => Some(m.to_ascii_lowercase()),
            m => return Err(invalid("mac address", m)),
        };
        let speed_bps = match speed.trim().parse::<i64>() {
            Ok(mbps) if mbps > 0 => Some(
                u64::try_from(mbps)
                    .ok()
                    .and_then(|m| m.checked_mul(1_000_000))
                    .ok_or_else(|| invalid("speed", speed))?,
            ),
            // The kernel says -1 (or 0) when it does not know.
            Ok(_) => None,
            Err(_) if speed.trim().is_empty() => None,
            Err(_) => return Err(invalid("speed", speed)),
        };
        out.push(PortState { name: name.to_owned(), mac, speed_bps, operstate: operstate.trim().to_ascii_lowercase() });
    }
    Ok(out)
}

/// Whether `s` is six `:`-separated pairs of hex digits.
pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_sysfs_prints() {
        let text = "lo|00:00:00:00:00:00|-1|unknown\np0|4A:CD:A6:F8:A7:3C|10000|up\np1|aa:bb:cc:dd:ee:ff|-1|down\ntun0||-1|unknown\n\n";
        let ports = parse_port_table(text).unwrap();
        assert_eq!(ports.len(), 4);
        assert_eq!(ports[1].mac.as_deref(), Some("4a:cd:a6:f8:a7:3c"));
        assert_eq!(ports[1].speed_bps, Some(10_000_000_000));
        assert!(ports[1].is_up() && !ports[2].is_up() && ports[0].is_up());
        assert_eq!(ports[2].speed_bps, None);
        assert_eq!(ports[3].mac, None);
    }

    #[test]
    fn rejects_garbage_with_the_line() {
        for bad in ["p0|x|1|up", "p0|aa:bb:cc:dd:ee:ff|fast|up", "p0|up", "|aa:bb:cc:dd:ee:ff|1|up", "p0|||up|x"] {
            let e = parse_port_table(bad).unwrap_err();
            assert!(e.to_string().contains("line 1"), "{bad}: {e}");
        }
        assert!(parse_port_table("p0|aa:bb:cc:dd:ee:ff|99999999999999999|up").is_err());
    }
}
