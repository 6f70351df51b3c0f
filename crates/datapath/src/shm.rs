//! The shared-memory region between one application (through `libktsn.so`) and the agent.
//!
//! ```text
//! offset 0      header     magic, version, slot count/size, agent heartbeat, epoch
//! RING_OFF      submit     SPSC ring of Descriptor   app ──▶ agent
//! free_off      free       SPSC ring of slot indices agent ──▶ app
//! slots_off     slots      slot_count × slot_size payload buffers
//! ```
//!
//! The agent creates the region (memfd, mode 0600), fills the free ring with every slot and
//! passes the fd over the unix socket. The application pops a free slot, writes the UDP
//! payload, pushes a [`Descriptor`]. The agent pops it, **copies** the payload out and
//! recycles the slot at once, whatever then happens to the frame (sent, late, dropped): a
//! slot can never leak, an application crash leaves nothing in the agent that points into
//! its memory, and an agent restart only costs the application a new region.
//!
//! Everything the application writes is untrusted: indices, lengths and ring counters are
//! validated by the agent, and a region that breaks the ring protocol is closed.
//!
//! `unsafe` is allowed in this module only: the rings live in memory shared with another
//! process, so they are reached through raw pointers into a [`Mapping`] whose layout was
//! checked when it was created or attached.

use std::mem::size_of;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::sys::{self, Mapping};

/// Magic at the start of every region.
pub const REGION_MAGIC: u64 = u64::from_le_bytes(*b"KTSNSHM1");
/// Layout version of the region and of the negotiation messages.
pub const PROTOCOL_VERSION: u32 = 1;
/// Default number of slots per region.
pub const DEFAULT_SLOT_COUNT: u32 = 1024;
/// Default slot size: the largest UDP payload of a 1500-byte MTU frame, rounded up.
pub const DEFAULT_SLOT_SIZE: u32 = 2048;
/// Largest slot count an agent offers or an application accepts.
pub const MAX_SLOT_COUNT: u32 = 1 << 16;
/// Largest slot size (a jumbo payload).
pub const MAX_SLOT_SIZE: u32 = 16 * 1024;

const HEADER_LEN: usize = 256;
const RING_HDR_LEN: usize = 128;
const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_SLOT_COUNT: usize = 12;
const OFF_SLOT_SIZE: usize = 16;
const OFF_HEARTBEAT: usize = 64;
const OFF_EPOCH: usize = 72;
const OFF_APP_PID: usize = 80;

/// Errors of the shared-memory protocol.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// A system call failed.
    #[error("shared memory: {0}")]
    Io(#[from] std::io::Error),
    /// The region or a message does not follow the protocol.
    #[error("shared memory protocol violation: {0}")]
    Protocol(String),
    /// The ring counters are broken: the region cannot be used any more.
    #[error("shared memory ring corrupt: {0}")]
    Corrupt(String),
}

/// Descriptor flag: the datagram carried an `SCM_TXTIME` transmit time.
pub const FLAG_TXTIME: u32 = 1;

/// One datagram handed from the application to the agent (64 bytes, `repr(C)`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Slot holding the payload.
    pub slot: u32,
    /// Payload length in bytes.
    pub len: u32,
    /// Transmit time from `SCM_TXTIME`, in `clockid`'s nanoseconds.
    pub txtime_ns: u64,
    /// The socket's `SO_TXTIME` clock (`CLOCK_TAI`, `CLOCK_MONOTONIC`, …).
    pub clockid: i32,
    /// The socket's `SO_PRIORITY` (0 when unset).
    pub priority: u32,
    /// Source IPv4 address (host byte order; 0 = the egress port's own address).
    pub src_ip: u32,
    /// Destination IPv4 address (host byte order).
    pub dst_ip: u32,
    /// Source UDP port (the application socket's bound port).
    pub src_port: u16,
    /// Destination UDP port.
    pub dst_port: u16,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Sequence number per region (diagnostics).
    pub seq: u64,
    /// Reserved, zero.
    pub reserved: [u8; 16],
}

const _: () = assert!(size_of::<Descriptor>() == 64);

/// Byte offsets of the parts of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Number of slots (a power of two).
    pub slot_count: u32,
    /// Bytes per slot.
    pub slot_size: u32,
    /// Offset of the submit ring header.
    pub submit_off: usize,
    /// Offset of the free ring header.
    pub free_off: usize,
    /// Offset of slot 0.
    pub slots_off: usize,
    /// Total length.
    pub len: usize,
}

impl Layout {
    /// The layout for `slot_count` slots of `slot_size` bytes, or an error for sizes out of range.
    pub fn new(slot_count: u32, slot_size: u32) -> Result<Layout, ShmError> {
        if !slot_count.is_power_of_two() || slot_count > MAX_SLOT_COUNT {
            return Err(ShmError::Protocol(format!(
                "slot count {slot_count} is not a power of two ≤ {MAX_SLOT_COUNT}"
            )));
        }
        if !(64..=MAX_SLOT_SIZE).contains(&slot_size) || !slot_size.is_multiple_of(64) {
            return Err(ShmError::Protocol(format!(
                "slot size {slot_size} not a multiple of 64 in 64..={MAX_SLOT_SIZE}"
            )));
        }
        let n = slot_count as usize;
        let submit_off = HEADER_LEN;
        let free_off = submit_off + RING_HDR_LEN + n * size_of::<Descriptor>();
        let slots_off = (free_off + RING_HDR_LEN + n * 4).next_multiple_of(64);
        let len = slots_off + n * slot_size as usize;
        Ok(Layout { slot_count, slot_size, submit_off, free_off, slots_off, len })
    }
}

/// A mapped region, with the typed accessors both sides use.
#[derive(Debug)]
struct Region {
    map: Mapping,
    layout: Layout,
}

impl Region {
    fn u64_at(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off + 8 <= self.map.len() && off.is_multiple_of(8));
        // SAFETY: `off` is a fixed, 8-aligned header offset inside the mapping (checked
        // against the layout at creation/attach); AtomicU64 has the layout of u64.
        unsafe { &*(self.map.as_ptr().add(off) as *const AtomicU64) }
    }

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off + 4 <= self.map.len() && off.is_multiple_of(4));
        // SAFETY: as `u64_at`, 4-aligned.
        unsafe { &*(self.map.as_ptr().add(off) as *const AtomicU32) }
    }

    /// Producer counter of the ring at `ring_off` (own cache line).
    fn head(&self, ring_off: usize) -> &AtomicU32 {
        self.u32_at(ring_off)
    }

    /// Consumer counter of the ring at `ring_off` (own cache line).
    fn tail(&self, ring_off: usize) -> &AtomicU32 {
        self.u32_at(ring_off + 64)
    }

    fn descriptor_ptr(&self, index: u32) -> *mut Descriptor {
        let i = (index & (self.layout.slot_count - 1)) as usize;
        // SAFETY: i < slot_count, so the entry lies inside the submit ring.
        unsafe { self.map.as_ptr().add(self.layout.submit_off + RING_HDR_LEN + i * size_of::<Descriptor>()).cast() }
    }

    fn free_entry(&self, index: u32) -> &AtomicU32 {
        let i = (index & (self.layout.slot_count - 1)) as usize;
        self.u32_at(self.layout.free_off + RING_HDR_LEN + i * 4)
    }

    fn slot_ptr(&self, slot: u32) -> Option<*mut u8> {
        if slot >= self.layout.slot_count {
            return None;
        }
        // SAFETY: slot < slot_count, so the slot lies inside the mapping.
        Some(unsafe { self.map.as_ptr().add(self.layout.slots_off + slot as usize * self.layout.slot_size as usize) })
    }
}

/// The agent's end of a region: consumer of descriptors, producer of free slots.
#[derive(Debug)]
pub struct AgentRegion {
    region: Region,
}

impl AgentRegion {
    /// Creates a region in a fresh memfd (mode 0600) with every slot free; returns the fd to
    /// pass to the application.
    pub fn create(slot_count: u32, slot_size: u32, app_pid: u32) -> Result<(AgentRegion, OwnedFd), ShmError> {
        let layout = Layout::new(slot_count, slot_size)?;
        let fd = sys::memfd("ktsn-region", layout.len)?;
        let map = Mapping::map(fd.as_raw_fd(), layout.len)?;
        let region = Region { map, layout };
        region.u64_at(OFF_MAGIC).store(REGION_MAGIC, Ordering::Relaxed);
        region.u32_at(OFF_VERSION).store(PROTOCOL_VERSION, Ordering::Relaxed);
        region.u32_at(OFF_SLOT_COUNT).store(slot_count, Ordering::Relaxed);
        region.u32_at(OFF_SLOT_SIZE).store(slot_size, Ordering::Relaxed);
        region.u32_at(OFF_APP_PID).store(app_pid, Ordering::Relaxed);
        for i in 0..slot_count {
            region.free_entry(i).store(i, Ordering::Relaxed);
        }
        region.head(layout.free_off).store(slot_count, Ordering::Release);
        Ok((AgentRegion { region }, fd))
    }

    /// The region's layout.
    pub fn layout(&self) -> Layout {
        self.region.layout
    }

    /// Publishes the agent's liveness (`CLOCK_MONOTONIC` ns) and epoch.
    pub fn heartbeat(&self, now_ns: u64, epoch: u64) {
        self.region.u64_at(OFF_HEARTBEAT).store(now_ns, Ordering::Release);
        self.region.u64_at(OFF_EPOCH).store(epoch, Ordering::Relaxed);
    }

    /// Takes the next descriptor, copies its payload into `payload` and recycles its slot.
    ///
    /// `Ok(None)` when the ring is empty. A descriptor with an invalid slot or length is
    /// still consumed (and its slot recycled when the index is valid) and reported as an
    /// error; a broken ring (counters out of range, free ring overflow) is an error too, and
    /// the caller should close the region.
    pub fn pop(&self, payload: &mut Vec<u8>) -> Result<Option<Descriptor>, ShmError> {
        let r = &self.region;
        let n = r.layout.slot_count;
        let tail = r.tail(r.layout.submit_off).load(Ordering::Relaxed);
        let head = r.head(r.layout.submit_off).load(Ordering::Acquire);
        if head == tail {
            return Ok(None);
        }
        if head.wrapping_sub(tail) > n {
            return Err(ShmError::Corrupt(format!("submit ring counters {head}/{tail} out of range")));
        }
        // SAFETY: the entry is inside the ring; Descriptor is plain data valid for any bits;
        // volatile because the other process may (wrongly) rewrite it concurrently.
        let d = unsafe { std::ptr::read_volatile(r.descriptor_ptr(tail)) };
        r.tail(r.layout.submit_off).store(tail.wrapping_add(1), Ordering::Release);
        let slot_ok = d.slot < n;
        let len_ok = d.len <= r.layout.slot_size;
        if slot_ok && len_ok {
            payload.clear();
            payload.resize(d.len as usize, 0);
            if let Some(p) = r.slot_ptr(d.slot) {
                // SAFETY: the slot holds slot_size ≥ len bytes inside the mapping; `payload`
                // has exactly len bytes; the regions are distinct allocations.
                unsafe { std::ptr::copy_nonoverlapping(p, payload.as_mut_ptr(), d.len as usize) };
            }
        }
        if slot_ok {
            self.push_free(d.slot)?;
        }
        if !slot_ok {
            return Err(ShmError::Protocol(format!("descriptor names slot {} of {n}", d.slot)));
        }
        if !len_ok {
            return Err(ShmError::Protocol(format!("descriptor length {} exceeds slot size", d.len)));
        }
        Ok(Some(d))
    }

    fn push_free(&self, slot: u32) -> Result<(), ShmError> {
        let r = &self.region;
        let off = r.layout.free_off;
        let head = r.head(off).load(Ordering::Relaxed);
        let tail = r.tail(off).load(Ordering::Acquire);
        if head.wrapping_sub(tail) >= r.layout.slot_count {
            return Err(ShmError::Corrupt("free ring overflow (a slot was submitted twice)".into()));
        }
        r.free_entry(head).store(slot, Ordering::Relaxed);
        r.head(off).store(head.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Number of descriptors waiting in the submit ring (saturated at the slot count).
    pub fn pending(&self) -> u32 {
        let r = &self.region;
        let head = r.head(r.layout.submit_off).load(Ordering::Acquire);
        let tail = r.tail(r.layout.submit_off).load(Ordering::Relaxed);
        head.wrapping_sub(tail).min(r.layout.slot_count)
    }
}

/// The application's end of a region: consumer of free slots, producer of descriptors.
/// Not thread-safe: the shim serialises its callers.
#[derive(Debug)]
pub struct AppRegion {
    region: Region,
    seq: u64,
}

/// Why a datagram could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// No free slot (the agent is behind); the application sees `ENOBUFS`.
    NoSlot,
    /// The payload does not fit in a slot; the application sees `EMSGSIZE`.
    TooLarge,
}

impl AppRegion {
    /// Maps the region passed by the agent and checks its header against `expected`.
    pub fn attach(fd: OwnedFd, expected: &RegionOffer) -> Result<AppRegion, ShmError> {
        let layout = Layout::new(expected.slot_count, expected.slot_size)?;
        if layout.len as u64 != expected.region_len || sys::fd_size(fd.as_raw_fd())? < layout.len {
            return Err(ShmError::Protocol("region size does not match the offer".into()));
        }
        let map = Mapping::map(fd.as_raw_fd(), layout.len)?;
        let region = Region { map, layout };
        if region.u64_at(OFF_MAGIC).load(Ordering::Relaxed) != REGION_MAGIC
            || region.u32_at(OFF_VERSION).load(Ordering::Relaxed) != PROTOCOL_VERSION
            || region.u32_at(OFF_SLOT_COUNT).load(Ordering::Relaxed) != expected.slot_count
            || region.u32_at(OFF_SLOT_SIZE).load(Ordering::Relaxed) != expected.slot_size
        {
            return Err(ShmError::Protocol("region header does not match the offer".into()));
        }
        Ok(AppRegion { region, seq: 0 })
    }

    /// Largest payload a slot holds.
    pub fn slot_size(&self) -> u32 {
        self.region.layout.slot_size
    }

    /// The agent's last heartbeat (`CLOCK_MONOTONIC` ns; 0 before the first).
    pub fn heartbeat_ns(&self) -> u64 {
        self.region.u64_at(OFF_HEARTBEAT).load(Ordering::Acquire)
    }

    /// Queues one datagram whose payload is the concatenation of `parts`.
    pub fn submit(&mut self, parts: &[&[u8]], mut desc: Descriptor) -> Result<(), SubmitError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total > self.region.layout.slot_size as usize {
            return Err(SubmitError::TooLarge);
        }
        let r = &self.region;
        let n = r.layout.slot_count;
        // Submit ring space first: a slot taken without ring space would leak.
        let s_head = r.head(r.layout.submit_off).load(Ordering::Relaxed);
        let s_tail = r.tail(r.layout.submit_off).load(Ordering::Acquire);
        if s_head.wrapping_sub(s_tail) >= n {
            return Err(SubmitError::NoSlot);
        }
        let f_tail = r.tail(r.layout.free_off).load(Ordering::Relaxed);
        let f_head = r.head(r.layout.free_off).load(Ordering::Acquire);
        if f_head == f_tail {
            return Err(SubmitError::NoSlot);
        }
        let slot = r.free_entry(f_tail).load(Ordering::Relaxed);
        r.tail(r.layout.free_off).store(f_tail.wrapping_add(1), Ordering::Release);
        let Some(p) = r.slot_ptr(slot) else {
            // The agent handed out a bad index: drop it rather than write out of bounds.
            return Err(SubmitError::NoSlot);
        };
        let mut off = 0;
        for part in parts {
            // SAFETY: off + part.len() ≤ total ≤ slot_size, inside this slot.
            unsafe { std::ptr::copy_nonoverlapping(part.as_ptr(), p.add(off), part.len()) };
            off += part.len();
        }
        desc.slot = slot;
        desc.len = total as u32;
        desc.seq = self.seq;
        self.seq += 1;
        // SAFETY: the entry lies inside the submit ring and is ours until head moves.
        unsafe { std::ptr::write_volatile(r.descriptor_ptr(s_head), desc) };
        r.head(r.layout.submit_off).store(s_head.wrapping_add(1), Ordering::Release);
        Ok(())
    }
}

// ───────────────────────────── negotiation messages ─────────────────────────────

const HELLO_MAGIC: [u8; 8] = *b"KTSNHELO";
const OFFER_MAGIC: [u8; 8] = *b"KTSNREGN";

/// The application's first message on the agent socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version the application speaks.
    pub version: u32,
    /// The application's pid (informational; the agent trusts `SO_PEERCRED`).
    pub pid: u32,
}

impl Hello {
    /// Encoded length.
    pub const LEN: usize = 16;

    /// Encodes the message.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..8].copy_from_slice(&HELLO_MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b
    }

    /// Decodes a message received from an application (untrusted).
    pub fn decode(b: &[u8]) -> Result<Hello, ShmError> {
        if b.len() != Self::LEN || b[..8] != HELLO_MAGIC {
            return Err(ShmError::Protocol(format!("not a hello message ({} bytes)", b.len())));
        }
        let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        let pid = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        Ok(Hello { version, pid })
    }
}

/// The agent's answer: the region's geometry (the memfd travels alongside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionOffer {
    /// Protocol version of the region.
    pub version: u32,
    /// 0 = accepted; otherwise the region is absent and the application falls back.
    pub status: u32,
    /// Slots in the region.
    pub slot_count: u32,
    /// Bytes per slot.
    pub slot_size: u32,
    /// Total region length in bytes.
    pub region_len: u64,
}

impl RegionOffer {
    /// Encoded length.
    pub const LEN: usize = 32;

    /// Encodes the message.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..8].copy_from_slice(&OFFER_MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.status.to_le_bytes());
        b[16..20].copy_from_slice(&self.slot_count.to_le_bytes());
        b[20..24].copy_from_slice(&self.slot_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.region_len.to_le_bytes());
        b
    }

    /// Decodes an offer and checks that its geometry is consistent.
    pub fn decode(b: &[u8]) -> Result<RegionOffer, ShmError> {
        if b.len() != Self::LEN || b[..8] != OFFER_MAGIC {
            return Err(ShmError::Protocol(format!("not a region offer ({} bytes)", b.len())));
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let offer = RegionOffer {
            version: u32_at(8),
            status: u32_at(12),
            slot_count: u32_at(16),
            slot_size: u32_at(20),
            region_len: u64::from_le_bytes([b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31]]),
        };
        if offer.version != PROTOCOL_VERSION {
            return Err(ShmError::Protocol(format!("agent speaks version {}", offer.version)));
        }
        if offer.status == 0 {
            let layout = Layout::new(offer.slot_count, offer.slot_size)?;
            if layout.len as u64 != offer.region_len {
                return Err(ShmError::Protocol("offer length does not match its geometry".into()));
            }
        }
        Ok(offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pair(n: u32) -> (AgentRegion, AppRegion) {
        let (agent, fd) = AgentRegion::create(n, 256, 1).unwrap();
        let l = agent.layout();
        let offer = RegionOffer {
            version: PROTOCOL_VERSION,
            status: 0,
            slot_count: l.slot_count,
            slot_size: l.slot_size,
            region_len: l.len as u64,
        };
        let app = AppRegion::attach(fd, &offer).unwrap();
        (agent, app)
    }

    #[test]
    fn slots_are_recycled_forever() {
        let (agent, mut app) = pair(4);
        let mut buf = Vec::new();
        for i in 0..1000u32 {
            let payload = i.to_le_bytes();
            app.submit(&[&payload[..2], &payload[2..]], Descriptor { dst_port: 7, ..Default::default() }).unwrap();
            let d = agent.pop(&mut buf).unwrap().unwrap();
            assert_eq!(buf, payload);
            assert_eq!(d.seq, u64::from(i));
            assert_eq!(d.dst_port, 7);
        }
        assert!(agent.pop(&mut buf).unwrap().is_none());
    }

    #[test]
    fn full_ring_reports_no_slot_then_recovers() {
        let (agent, mut app) = pair(4);
        for _ in 0..4 {
            app.submit(&[b"x"], Descriptor::default()).unwrap();
        }
        assert_eq!(app.submit(&[b"x"], Descriptor::default()), Err(SubmitError::NoSlot));
        let mut buf = Vec::new();
        assert!(agent.pop(&mut buf).unwrap().is_some());
        app.submit(&[b"y"], Descriptor::default()).unwrap();
        assert_eq!(app.submit(&[&[0u8; 257]], Descriptor::default()), Err(SubmitError::TooLarge));
    }

    #[test]
    fn forged_descriptors_are_rejected_without_panicking() {
        let (agent, _app) = pair(4);
        let r = &agent.region;
        // Forge a descriptor with an out-of-range slot directly in the ring.
        unsafe {
            std::ptr::write_volatile(r.descriptor_ptr(0), Descriptor { slot: 99, len: 10, ..Default::default() })
        };
        r.head(r.layout.submit_off).store(1, Ordering::Release);
        let mut buf = Vec::new();
        assert!(agent.pop(&mut buf).is_err());
        // Forged counters far ahead.
        r.head(r.layout.submit_off).store(1000, Ordering::Release);
        assert!(agent.pop(&mut buf).is_err());
    }

    proptest! {
        #[test]
        fn hello_and_offer_decode_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Hello::decode(&bytes);
            let _ = RegionOffer::decode(&bytes);
        }

        #[test]
        fn hello_round_trips(version in any::<u32>(), pid in any::<u32>()) {
            let h = Hello { version, pid };
            prop_assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
        }

        #[test]
        fn offer_round_trips(count_log in 0u32..12, size_units in 1u32..64) {
            let l = Layout::new(1 << count_log, size_units * 64).unwrap();
            let o = RegionOffer { version: PROTOCOL_VERSION, status: 0, slot_count: l.slot_count,
                                  slot_size: l.slot_size, region_len: l.len as u64 };
            prop_assert_eq!(RegionOffer::decode(&o.encode()).unwrap(), o);
        }
    }
}
