//! Bus message bodies of the pipeline (tsn-pipeline): every decoder and model conversion
//! returns a value or an error for arbitrary bytes, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsn_pipeline::{decode, model, topology, v1};

fuzz_target!(|data: &[u8]| {
    let m = |kind: &str| tsn_bus::Message::new(kind, "r", 0, data.to_vec());
    if let Ok(job) = decode::<v1::ScheduleJob>(tsn_pipeline::SCHEDULE_PROBLEM, &m(tsn_pipeline::SCHEDULE_PROBLEM)) {
        if let Some(p) = &job.problem {
            if let Ok(p) = model::problem_from_pb("f", p) {
                let _ = p.validate();
            }
        }
    }
    if let Ok(s) = decode::<v1::SolvedJob>(tsn_pipeline::SCHEDULE_SOLVED, &m(tsn_pipeline::SCHEDULE_SOLVED)) {
        if let Some(s) = &s.schedule {
            let _ = model::schedule_from_pb("f", s);
        }
    }
    if let Ok(o) = decode::<v1::RequestOutcome>(tsn_pipeline::DEPLOY_COMPLETED, &m(tsn_pipeline::DEPLOY_COMPLETED)) {
        if let Some(a) = &o.admitted_state {
            for s in &a.streams {
                let _ = model::stream_from_pb("f", s);
            }
        }
    }
    if let Ok(t) = decode::<v1::TopologySnapshot>(tsn_pipeline::TOPOLOGY_CHANGED, &m(tsn_pipeline::TOPOLOGY_CHANGED)) {
        let _ = topology::from_pb(&t);
    }
    let _ = decode::<v1::ComputeRequest>(tsn_pipeline::COMPUTE_REQUESTED, &m(tsn_pipeline::COMPUTE_REQUESTED));
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = tsn_pipeline::normalize_mac(s);
    }
});
