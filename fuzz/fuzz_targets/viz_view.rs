//! A `schedule.solved` body as the gateway's visualizer tracker takes it off the bus: the
//! decoded problem and schedule become a view and the page that embeds it, for arbitrary
//! bytes, without a panic; the embedded data reads back as the view.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsn_pipeline::{decode, model, v1};

fuzz_target!(|data: &[u8]| {
    let m = tsn_bus::Message::new(tsn_pipeline::SCHEDULE_SOLVED, "r", 0, data.to_vec());
    let Ok(job) = decode::<v1::SolvedJob>(tsn_pipeline::SCHEDULE_SOLVED, &m) else { return };
    let Some(p) = job.job.as_ref().and_then(|j| j.problem.as_ref()) else { return };
    let Some(s) = job.schedule.as_ref() else { return };
    let (Ok(problem), Ok(schedule)) = (model::problem_from_pb("f", p), model::schedule_from_pb("f", s)) else { return };
    let view = uni_gateway::viz::build_view(None, Some((&problem, &schedule)), &[], &|_| true, true);
    let html = uni_gateway::viz::render_html(&view);
    let start = "<script id=\"viz-data\" type=\"application/json\">";
    let json = html.split(start).nth(1).and_then(|r| r.split("</script>").next()).expect("embedded data");
    let back: uni_gateway::viz::View = serde_json::from_str(json).expect("the embedded data is JSON");
    // f64 utilisation may not round-trip bit for bit; everything else must.
    assert_eq!(back.transmissions, view.transmissions);
    assert_eq!(back.streams, view.streams);
    assert_eq!(back.gcls, view.gcls);
});
