//! Prometheus counters (text exposition on `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The gateway's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests answered with 2xx/3xx.
    pub requests_ok: AtomicU64,
    /// Requests answered with 4xx.
    pub requests_client_error: AtomicU64,
    /// Requests answered with 5xx.
    pub requests_server_error: AtomicU64,
    /// Datastore edits committed.
    pub edits: AtomicU64,
    /// Compute/remove requests created.
    pub compute_requests: AtomicU64,
    /// Outbox messages published.
    pub outbox_published: AtomicU64,
    /// Outcomes applied.
    pub outcomes_applied: AtomicU64,
    /// Outcomes ignored as duplicates or unknown.
    pub outcomes_duplicate: AtomicU64,
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn inc(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response status.
    pub fn status(&self, status: u16) {
        match status {
            500.. => self.inc(&self.requests_server_error),
            400.. => self.inc(&self.requests_client_error),
            _ => self.inc(&self.requests_ok),
        }
    }

    /// The Prometheus text exposition, with gauges passed in.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str("# HELP uni_gateway_requests_total RESTCONF requests by status class.\n# TYPE uni_gateway_requests_total counter\n");
        out.push_str(&format!("uni_gateway_requests_total{{class=\"ok\"}} {}\n", g(&self.requests_ok)));
        out.push_str(&format!(
            "uni_gateway_requests_total{{class=\"client_error\"}} {}\n",
            g(&self.requests_client_error)
        ));
        out.push_str(&format!(
            "uni_gateway_requests_total{{class=\"server_error\"}} {}\n",
            g(&self.requests_server_error)
        ));
        for (name, help, v) in [
            ("uni_gateway_edits_total", "Datastore edits committed.", g(&self.edits)),
            ("uni_gateway_compute_requests_total", "Compute and remove requests created.", g(&self.compute_requests)),
            ("uni_gateway_outbox_published_total", "Outbox messages published on the bus.", g(&self.outbox_published)),
            ("uni_gateway_outcomes_applied_total", "Pipeline outcomes applied.", g(&self.outcomes_applied)),
            (
                "uni_gateway_outcomes_duplicate_total",
                "Outcomes ignored (duplicate or unknown request).",
                g(&self.outcomes_duplicate),
            ),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"));
        }
        for (name, help, v) in gauges {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"));
        }
        out
    }
}
