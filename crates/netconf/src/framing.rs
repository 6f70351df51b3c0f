//! RFC 6242 message framing: base:1.0 end-of-message (`]]>]]>`) and base:1.1 chunked
//! framing, as an incremental decoder, an encoder and an async transport wrapper.
//!
//! The decoder never panics on any input; it returns [`FramingError`] and the session is
//! then closed by its owner.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{FramingError, NetconfError};

/// The end-of-message marker of base:1.0 framing.
pub const END_OF_MESSAGE: &[u8] = b"]]>]]>";

/// Default limit on one message (16 MiB): larger messages close the session.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// The largest chunk size RFC 6242 allows.
const MAX_CHUNK: u64 = 4_294_967_295;

/// Which framing a session uses. Both peers start with end-of-message for `<hello>` and
/// switch to chunked when both advertise `urn:ietf:params:netconf:base:1.1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// base:1.0: the message, then `]]>]]>`.
    EndOfMessage,
    /// base:1.1: `\n#<len>\n<data>` chunks, then `\n##\n`.
    Chunked,
}

/// The message `msg` framed for the wire.
pub fn encode(framing: Framing, msg: &[u8]) -> Vec<u8> {
    match framing {
        Framing::EndOfMessage => {
            let mut out = Vec::with_capacity(msg.len() + END_OF_MESSAGE.len());
            out.extend_from_slice(msg);
            out.extend_from_slice(END_OF_MESSAGE);
            out
        }
        Framing::Chunked => {
            let mut out = Vec::with_capacity(msg.len() + 32);
            // One chunk per 1 MiB keeps headers few and chunks far below the 2^32 limit.
            for chunk in msg.chunks(1 << 20) {
                out.extend_from_slice(format!("\n#{}\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(b"\n##\n");
            out
        }
    }
}

/// Incremental decoder: [`push`](FrameDecoder::push) bytes as they arrive, then take
/// complete messages with [`next_message`](FrameDecoder::next_message). Bytes after a
/// message stay buffered, so the framing can be switched between messages (after hello).
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    max_message: usize,
    buf: Vec<u8>,
    /// Chunked: the payload of the message assembled so far.
    partial: Vec<u8>,
    /// Chunked: whether at least one chunk of the current message arrived.
    in_message: bool,
    /// End-of-message: where the next search for the marker starts.
    scan_from: usize,
    /// Bytes consumed from the stream so far (for error offsets).
    consumed: u64,
}

impl FrameDecoder {
    /// A decoder starting with `framing`, refusing messages longer than `max_message` bytes.
    pub fn new(framing: Framing, max_message: usize) -> Self {
        FrameDecoder {
            framing,
            max_message,
            buf: Vec::new(),
            partial: Vec::new(),
            in_message: false,
            scan_from: 0,
            consumed: 0,
        }
    }

    /// The current framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Switches the framing for the following messages.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.scan_from = 0;
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet part of a returned message.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.partial.len()
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        }
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let start = self.scan_from.saturating_sub(END_OF_MESSAGE.len() - 1);
        if let Some(pos) = find(&self.buf[start..], END_OF_MESSAGE) {
            let end = start + pos;
            if end > self.max_message {
                return Err(FramingError::TooLong { limit: self.max_message });
            }
            let msg = self.buf[..end].to_vec();
            self.buf.drain(..end + END_OF_MESSAGE.len());
            self.consumed += (end + END_OF_MESSAGE.len()) as u64;
            self.scan_from = 0;
            return Ok(Some(msg));
        }
        if self.buf.len() > self.max_message + END_OF_MESSAGE.len() {
            return Err(FramingError::TooLong { limit: self.max_message });
        }
        self.scan_from = self.buf.len();
        Ok(None)
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        loop {
            // Header: "\n#" then either "#\n" (end of chunks) or digits and "\n".
            if self.buf.len() < 3 {
                return self.check_header_prefix();
            }
            if &self.buf[..2] != b"\n#" {
                return Err(self.bad_header());
            }
            if self.buf[2] == b'#' {
                if self.buf.len() < 4 {
                    return Ok(None);
                }
                if self.buf[3] != b'\n' || !self.in_message {
                    // "\n##\n" before any chunk is an empty message, which RFC 6242 forbids.
                    return Err(self.bad_header());
                }
                self.buf.drain(..4);
                self.consumed += 4;
                self.in_message = false;
                return Ok(Some(std::mem::take(&mut self.partial)));
            }
            // Digits: 1-9 then up to 9 more, terminated by '\n'.
            let mut len: u64 = 0;
            let mut i = 2;
            loop {
                let Some(&b) = self.buf.get(i) else {
                    if i - 2 > 10 {
                        return Err(self.bad_header());
                    }
                    return Ok(None);
                };
                match b {
                    b'0'..=b'9' => {
                        if i == 2 && b == b'0' {
                            return Err(self.bad_header());
                        }
                        len = len * 10 + u64::from(b - b'0');
                        if len > MAX_CHUNK {
                            return Err(self.bad_header());
                        }
                    }
                    b'\n' if i > 2 => break,
                    _ => return Err(self.bad_header()),
                }
                i += 1;
            }
            let header = i + 1;
            if self.partial.len() as u64 + len > self.max_message as u64 {
                return Err(FramingError::TooLong { limit: self.max_message });
            }
            let len = len as usize;
            if self.buf.len() < header + len {
                return Ok(None);
            }
            self.partial.extend_from_slice(&self.buf[header..header + len]);
            self.buf.drain(..header + len);
            self.consumed += (header + len) as u64;
            self.in_message = true;
        }
    }

    /// With fewer than 3 bytes buffered: fine if they can start a header.
    fn check_header_prefix(&self) -> Result<Option<Vec<u8>>, FramingError> {
        let ok = b"\n#".starts_with(&self.buf[..self.buf.len().min(2)]);
        if ok {
            Ok(None)
        } else {
            Err(self.bad_header())
        }
    }

    fn bad_header(&self) -> FramingError {
        FramingError::BadChunkHeader { offset: self.consumed }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A NETCONF message transport over any byte stream: SSH channel, TCP, pipes, or
/// `tokio::io::duplex` in tests.
#[derive(Debug)]
pub struct Framed<T> {
    io: T,
    decoder: FrameDecoder,
    read_buf: Box<[u8]>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Framed<T> {
    /// A transport starting with end-of-message framing (as every session does).
    pub fn new(io: T, max_message: usize) -> Self {
        Framed {
            io,
            decoder: FrameDecoder::new(Framing::EndOfMessage, max_message),
            read_buf: vec![0; 32 * 1024].into(),
        }
    }

    /// Switches both directions to `framing` (after the hello exchange).
    pub fn set_framing(&mut self, framing: Framing) {
        self.decoder.set_framing(framing);
    }

    /// The current framing.
    pub fn framing(&self) -> Framing {
        self.decoder.framing()
    }

    /// Reads the next message; `Ok(None)` on a clean end of stream between messages.
    pub async fn read_message(&mut self) -> Result<Option<String>, NetconfError> {
        loop {
            if let Some(msg) = self.decoder.next_message()? {
                return String::from_utf8(msg).map(Some).map_err(|_| FramingError::NotUtf8.into());
            }
            let n = self.io.read(&mut self.read_buf).await?;
            if n == 0 {
                let pending = self.decoder.pending();
                // Whitespace between messages is harmless (some peers send a newline).
                if pending == 0
                    || self.decoder.buf.iter().all(u8::is_ascii_whitespace) && self.decoder.partial.is_empty()
                {
                    return Ok(None);
                }
                return Err(FramingError::Truncated { pending }.into());
            }
            self.decoder.push(&self.read_buf[..n]);
        }
    }

    /// Writes one message in the current framing and flushes.
    pub async fn write_message(&mut self, msg: &str) -> Result<(), NetconfError> {
        let bytes = encode(self.decoder.framing(), msg.as_bytes());
        self.io.write_all(&bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Shuts the write side down (best effort).
    pub async fn shutdown(&mut self) {
        let _ = self.io.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(framing: Framing, bytes: &[u8], step: usize) -> Result<Vec<Vec<u8>>, FramingError> {
        let mut d = FrameDecoder::new(framing, 1 << 20);
        let mut out = Vec::new();
        for piece in bytes.chunks(step.max(1)) {
            d.push(piece);
            while let Some(m) = d.next_message()? {
                out.push(m);
            }
        }
        Ok(out)
    }

    #[test]
    fn rfc6242_chunked_example() {
        // The example of RFC 6242 section 4.2, split as the RFC splits it.
        let wire = b"\n#4\n<rpc\n#18\n message-id=\"102\"\n\n#79\n     xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\n  <close-session/>\n</rpc>\n##\n";
        let msgs = decode_all(Framing::Chunked, wire, 7).unwrap();
        assert_eq!(msgs.len(), 1);
        let text = String::from_utf8(msgs[0].clone()).unwrap();
        assert!(text.starts_with("<rpc message-id=\"102\"\n"), "{text}");
        assert!(text.ends_with("</rpc>"));
    }

    #[test]
    fn bad_chunk_headers_are_refused() {
        for bad in [&b"\n#0\n"[..], b"\n#01\nx", b"\n##\n", b"x", b"\n#a\n", b"\n#4294967296\n", b"\n#1\nx\n#"] {
            let r = decode_all(Framing::Chunked, &[bad, &b"\n#99999999999"[..]].concat(), 1);
            assert!(r.is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn too_long_messages_are_refused() {
        let mut d = FrameDecoder::new(Framing::EndOfMessage, 10);
        d.push(&[b'a'; 100]);
        assert_eq!(d.next_message(), Err(FramingError::TooLong { limit: 10 }));
        let mut d = FrameDecoder::new(Framing::Chunked, 10);
        d.push(b"\n#11\n");
        assert_eq!(d.next_message(), Err(FramingError::TooLong { limit: 10 }));
    }

    #[test]
    fn framing_switches_between_messages() {
        let mut bytes = encode(Framing::EndOfMessage, b"<hello/>");
        bytes.extend(encode(Framing::Chunked, b"<rpc/>"));
        let mut d = FrameDecoder::new(Framing::EndOfMessage, 1 << 20);
        d.push(&bytes);
        assert_eq!(d.next_message().unwrap().unwrap(), b"<hello/>");
        d.set_framing(Framing::Chunked);
        assert_eq!(d.next_message().unwrap().unwrap(), b"<rpc/>");
        assert_eq!(d.next_message().unwrap(), None);
    }

    proptest! {
        #[test]
        fn chunked_round_trip(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..5), step in 1usize..50) {
            let wire: Vec<u8> = msgs.iter().flat_map(|m| encode(Framing::Chunked, m)).collect();
            prop_assert_eq!(decode_all(Framing::Chunked, &wire, step).unwrap(), msgs);
        }

        #[test]
        fn eom_round_trip(msgs in proptest::collection::vec("[a-z<>/ =\"\\]]{0,200}", 1..5), step in 1usize..50) {
            // Messages must not contain the marker themselves (RFC 6242 §4.3 relies on XML
            // never producing it).
            prop_assume!(msgs.iter().all(|m| !m.contains("]]>]]>") && !m.ends_with(']') && !m.ends_with("]]>") && !m.ends_with("]]>]")&& !m.ends_with("]]>]]")));
            let wire: Vec<u8> = msgs.iter().flat_map(|m| encode(Framing::EndOfMessage, m.as_bytes())).collect();
            let got = decode_all(Framing::EndOfMessage, &wire, step).unwrap();
            prop_assert_eq!(got, msgs.iter().map(|m| m.as_bytes().to_vec()).collect::<Vec<_>>());
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), step in 1usize..40, chunked: bool) {
            let framing = if chunked { Framing::Chunked } else { Framing::EndOfMessage };
            let _ = decode_all(framing, &bytes, step);
        }
    }
}
