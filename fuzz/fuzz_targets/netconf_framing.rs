//! NETCONF framing (RFC 6242, both framings) on arbitrary bytes in arbitrary pieces,
//! then every decoded message through the XML reader and the hello/reply parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsn_netconf::framing::{FrameDecoder, Framing};
use tsn_netconf::message::{Hello, Reply};
use tsn_netconf::xml::Element;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let framing = if head & 1 == 0 { Framing::EndOfMessage } else { Framing::Chunked };
    let step = usize::from(head >> 1).max(1);
    let mut d = FrameDecoder::new(framing, 1 << 16);
    for piece in rest.chunks(step) {
        d.push(piece);
        loop {
            match d.next_message() {
                Ok(Some(msg)) => {
                    if let Ok(text) = std::str::from_utf8(&msg) {
                        if let Ok(el) = Element::parse(text) {
                            let _ = Hello::parse(&el);
                            let _ = Reply::from_element(el);
                        }
                    }
                    // after a hello, both framings may follow
                    d.set_framing(Framing::Chunked);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
