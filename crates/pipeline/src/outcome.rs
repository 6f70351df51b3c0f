//! Building the one [`v1::RequestOutcome`] a compute request ends with.

use crate::failure_code::FailureReason;
use crate::v1;

/// A stream the pipeline did not admit, for `reason` (human-readable `why`).
pub fn failed_stream(
    stream_id: &str,
    reason: FailureReason,
    why: &str,
    failed: Vec<v1::EndStation>,
) -> v1::StreamOutcome {
    v1::StreamOutcome {
        stream_id: stream_id.to_owned(),
        status: v1::StreamStatus::Failed as i32,
        failure_code: reason.code(),
        failed_interfaces: failed,
        reason: why.to_owned(),
        ..Default::default()
    }
}

/// The outcome of a request that deployed nothing: every requested stream failed for
/// `reason` (`why`), the streams preprocess already rejected keep their own reasons, and
/// the removals did not happen either.
pub fn failed(ctx: &v1::RequestContext, reason: FailureReason, why: &str) -> v1::RequestOutcome {
    let mut streams: Vec<v1::StreamOutcome> = ctx
        .requested
        .iter()
        .map(|s| {
            let talker: Vec<v1::EndStation> = s.talker.iter().cloned().collect();
            failed_stream(&s.stream_id, reason, why, talker)
        })
        .collect();
    streams.extend(ctx.rejected.iter().cloned());
    streams.extend(ctx.removed.iter().map(|id| failed_stream(id, reason, why, Vec::new())));
    v1::RequestOutcome {
        domain_id: ctx.domain_id.clone(),
        cuc_id: ctx.cuc_id.clone(),
        streams,
        deployed: false,
        detail: why.to_owned(),
        admitted_state: None,
    }
}

/// The outcome for a request whose body could not even be read (e.g. a dead letter): no
/// stream is known, the detail says why.
pub fn unreadable(why: &str) -> v1::RequestOutcome {
    v1::RequestOutcome { detail: why.to_owned(), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_outcomes_list_every_stream() {
        let ctx = v1::RequestContext {
            domain_id: "d".into(),
            cuc_id: "c".into(),
            requested: vec![v1::StreamEndpoints { stream_id: "a".into(), ..Default::default() }],
            rejected: vec![failed_stream("b", FailureReason::Unreachable, "unreachable", vec![])],
            removed: vec!["c".into()],
            ..Default::default()
        };
        let o = failed(&ctx, FailureReason::LatencyBound, "too far");
        let ids: Vec<&str> = o.streams.iter().map(|s| s.stream_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(o.streams[0].failure_code, 21);
        assert_eq!(o.streams[1].failure_code, 8);
        assert!(!o.deployed);
        assert_eq!(o.detail, "too far");
    }
}
