//! Arbitrary bytes as a gRPC `ApplyScheduleRequest` body: protobuf decoding plus the
//! agent's validation never panic, and an accepted schedule is internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_agent::pb::ApplyScheduleRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ApplyScheduleRequest::decode(data) {
        if let Ok(valid) = node_agent::wire::validate(&req) {
            assert_eq!(valid.datapath.generation, req.generation);
            for s in &valid.datapath.streams {
                assert!(s.pcp <= 7 && s.vlan_id <= 4094);
                assert!(valid.datapath.ports.iter().any(|p| p.name == s.port));
            }
        }
    }
    let _ = node_agent::health::route(data);
});
