//! Topic, pattern and queue-name rules, and AMQP topic-exchange matching.

use crate::BusError;

/// Longest topic, pattern or queue name accepted (AMQP short strings hold 255 bytes; the
/// rest is left for the namespace prefix of [`crate::AmqpConfig`]).
const MAX_NAME_LEN: usize = 200;

fn word_ok(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a topic (routing key) for publishing: dot-separated words of ASCII letters,
/// digits, `-` and `_`, e.g. `schedule.solved`.
pub fn validate_topic(topic: &str) -> Result<(), BusError> {
    let err = |reason| Err(BusError::InvalidTopic { topic: topic.to_owned(), reason });
    if topic.is_empty() || topic.len() > MAX_NAME_LEN {
        return err("must be 1 to 200 bytes long");
    }
    if !topic.split('.').all(word_ok) {
        return err("must be dot-separated non-empty words of [A-Za-z0-9_-]");
    }
    Ok(())
}

/// Checks a binding pattern: like a topic, but a word may also be `*` (exactly one word) or
/// `#` (zero or more words).
pub fn validate_pattern(pattern: &str) -> Result<(), BusError> {
    let err = |reason| Err(BusError::InvalidPattern { pattern: pattern.to_owned(), reason });
    if pattern.is_empty() || pattern.len() > MAX_NAME_LEN {
        return err("must be 1 to 200 bytes long");
    }
    if !pattern.split('.').all(|w| w == "*" || w == "#" || word_ok(w)) {
        return err("must be dot-separated words of [A-Za-z0-9_-], `*` or `#`");
    }
    Ok(())
}

/// Checks a queue name: 1 to 200 bytes of ASCII letters, digits, `.`, `-` and `_`, not
/// starting with the broker-reserved `amq.`.
pub fn validate_queue_name(queue: &str) -> Result<(), BusError> {
    let err = |reason| Err(BusError::InvalidQueue { queue: queue.to_owned(), reason });
    if queue.is_empty() || queue.len() > MAX_NAME_LEN {
        return err("must be 1 to 200 bytes long");
    }
    if !queue.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return err("must consist of [A-Za-z0-9._-]");
    }
    if queue.starts_with("amq.") {
        return err("the amq. prefix is reserved by the broker");
    }
    Ok(())
}

/// Whether `topic` matches `pattern` the way an AMQP topic exchange matches a routing key
/// against a binding key: words are separated by `.`, `*` matches exactly one word and `#`
/// matches zero or more words.
pub fn pattern_matches(pattern: &str, topic: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let topic: Vec<&str> = topic.split('.').collect();
    matches_words(&pattern, &topic)
}

fn matches_words(pattern: &[&str], topic: &[&str]) -> bool {
    match pattern.split_first() {
        None => topic.is_empty(),
        Some((&"#", rest)) => (0..=topic.len()).any(|skip| matches_words(rest, &topic[skip..])),
        Some((&word, rest)) => match topic.split_first() {
            Some((&first, topic_rest)) => (word == "*" || word == first) && matches_words(rest, topic_rest),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_amqp_topic_rules() {
        let cases = [
            ("schedule.solved", "schedule.solved", true),
            ("schedule.solved", "schedule.failed", false),
            ("schedule.*", "schedule.solved", true),
            ("schedule.*", "schedule", false),
            ("schedule.*", "schedule.solved.extra", false),
            ("*.solved", "schedule.solved", true),
            ("#", "anything.at.all", true),
            ("#", "one", true),
            ("schedule.#", "schedule", true),
            ("schedule.#", "schedule.a.b", true),
            ("#.completed", "deploy.completed", true),
            ("#.completed", "completed", true),
            ("#.completed", "deploy.completed.not", false),
            ("a.#.z", "a.z", true),
            ("a.#.z", "a.b.c.z", true),
            ("a.#.z", "a.b.c", false),
            ("*.*", "a.b", true),
            ("*.*", "a", false),
            ("#.#", "a.b", true),
        ];
        for (pattern, topic, expected) in cases {
            assert_eq!(pattern_matches(pattern, topic), expected, "{pattern} vs {topic}");
        }
    }

    #[test]
    fn validation() {
        assert!(validate_topic("schedule.solved").is_ok());
        assert!(validate_topic("schedule.*").is_err());
        assert!(validate_topic("schedule..solved").is_err());
        assert!(validate_topic("").is_err());
        assert!(validate_pattern("schedule.#").is_ok());
        assert!(validate_pattern("sched*").is_err());
        assert!(validate_queue_name("schedule.problem").is_ok());
        assert!(validate_queue_name("amq.gen-x").is_err());
        assert!(validate_queue_name("a b").is_err());
    }
}
