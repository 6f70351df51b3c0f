//! `libktsn.so` — load with `LD_PRELOAD` into an unmodified application.
//!
//! Interposes `socket`, `setsockopt`, `sendmsg`, `sendto` and `close`. Only `sendmsg` on an
//! IPv4 UDP socket with `SO_TXTIME` enabled *and* an `SCM_TXTIME` control message changes
//! behaviour: the datagram goes to the node agent over the shared-memory ring (see
//! `tsn_datapath::shm`), which releases it at its transmit time with an 802.1Q tag. Every
//! other call — TCP, UDP without a transmit time, other families, `sendto` (it cannot carry
//! a transmit time) — goes to libc unchanged. With no agent (socket absent, refused, or
//! gone), the datagram goes to the kernel as before, with one warning on stderr: the shim
//! never breaks the application.
//!
//! The agent socket is `$KTSN_AGENT_SOCKET`, default `/run/ktsn/agent.sock`. The shim
//! attaches to the agent when a socket enables `SO_TXTIME` (and again on a send if the
//! agent was missing or went away), so the first timed send does not pay for the setup.
//!
//! Why Rust and not C: the ring layout and its protocol exist once, in `tsn-datapath`, and
//! are used by both ends; a C copy would drift. The exported functions are the only
//! `unsafe` surface and are kept small.

// This crate is an LD_PRELOAD interposer: exporting libc symbols, calling the next
// definition through dlsym and reading the caller's msghdr are inherently unsafe FFI.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

use libc::{c_int, c_void, msghdr, size_t, sockaddr, socklen_t, ssize_t};
use tsn_datapath::agent_socket::socket_path_from_env;
use tsn_datapath::shm::{Descriptor, SubmitError, FLAG_TXTIME};
use tsn_datapath::sys::{SCM_TXTIME, SO_TXTIME};
use tsn_datapath::{AgentClient, Clock};

/// File descriptors tracked (larger ones always pass through to libc).
const MAX_FD: usize = 4096;
const UDP4: u32 = 1;
const TXTIME: u32 = 2;

/// Per fd: bit 0 IPv4/UDP, bit 1 SO_TXTIME on, bits 4..8 clockid, bits 16..32 SO_PRIORITY.
static FDS: [AtomicU32; MAX_FD] = [const { AtomicU32::new(0) }; MAX_FD];

fn entry(fd: c_int) -> Option<&'static AtomicU32> {
    usize::try_from(fd).ok().and_then(|i| FDS.get(i))
}

/// Resolves the next definition of a libc symbol once (0 if it does not exist).
fn next_symbol(cache: &AtomicUsize, name: &CStr) -> usize {
    let mut p = cache.load(Ordering::Relaxed);
    if p == 0 {
        // SAFETY: dlsym with a valid NUL-terminated name; RTLD_NEXT skips this library.
        p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
        cache.store(p, Ordering::Relaxed);
    }
    p
}

macro_rules! real {
    ($name:literal, $ty:ty) => {{
        static CACHE: AtomicUsize = AtomicUsize::new(0);
        let p = next_symbol(&CACHE, $name);
        if p == 0 {
            None
        } else {
            // SAFETY: `p` is the address of the libc function of this exact signature.
            Some(unsafe { std::mem::transmute::<usize, $ty>(p) })
        }
    }};
}

fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno.
    unsafe { *libc::__errno_location() = e };
}

type SocketFn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
type SetsockoptFn = unsafe extern "C" fn(c_int, c_int, c_int, *const c_void, socklen_t) -> c_int;
type SendmsgFn = unsafe extern "C" fn(c_int, *const msghdr, c_int) -> ssize_t;
type SendtoFn = unsafe extern "C" fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t;
type CloseFn = unsafe extern "C" fn(c_int) -> c_int;

/// Interposed `socket(2)`: records IPv4 UDP sockets.
///
/// # Safety
/// Same contract as libc's `socket`.
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let Some(f) = real!(c"socket", SocketFn) else {
        set_errno(libc::ENOSYS);
        return -1;
    };
    let fd = f(domain, ty, protocol);
    if let Some(e) = entry(fd) {
        let udp =
            domain == libc::AF_INET && ty & 0xf == libc::SOCK_DGRAM && (protocol == 0 || protocol == libc::IPPROTO_UDP);
        e.store(if udp { UDP4 } else { 0 }, Ordering::Relaxed);
    }
    fd
}

/// Interposed `setsockopt(2)`: remembers `SO_TXTIME` (clock) and `SO_PRIORITY`; the kernel
/// still sees every option so the fallback path behaves as without the shim.
///
/// # Safety
/// Same contract as libc's `setsockopt`.
#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    let Some(f) = real!(c"setsockopt", SetsockoptFn) else {
        set_errno(libc::ENOSYS);
        return -1;
    };
    let r = f(fd, level, name, value, len);
    if r == 0 && level == libc::SOL_SOCKET && !value.is_null() {
        if let Some(e) = entry(fd) {
            let cur = e.load(Ordering::Relaxed);
            if cur & UDP4 != 0 {
                if name == SO_TXTIME && len as usize >= 8 {
                    let clockid = std::ptr::read_unaligned(value as *const i32);
                    let bits = if (0..16).contains(&clockid) { TXTIME | ((clockid as u32) << 4) } else { 0 };
                    e.store((cur & !(TXTIME | 0xf0)) | bits, Ordering::Relaxed);
                    if bits != 0 {
                        // Attach to the agent now, not on the first timed send: setting up
                        // the ring takes milliseconds (tens on a loaded host), which the
                        // application's first transmit times must not pay.
                        let _ = std::panic::catch_unwind(|| attached(&mut lock_state()).is_some());
                    }
                } else if name == libc::SO_PRIORITY && len as usize >= 4 {
                    let prio = std::ptr::read_unaligned(value as *const i32).clamp(0, 0xffff) as u32;
                    e.store((cur & 0xffff) | (prio << 16), Ordering::Relaxed);
                }
            }
        }
    }
    r
}

/// Interposed `close(2)`: forgets the descriptor.
///
/// # Safety
/// Same contract as libc's `close`.
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    if let Some(e) = entry(fd) {
        e.store(0, Ordering::Relaxed);
    }
    match real!(c"close", CloseFn) {
        Some(f) => f(fd),
        None => {
            set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// Interposed `sendto(2)`: a datagram without control messages cannot carry a transmit
/// time, so it always goes to the kernel.
///
/// # Safety
/// Same contract as libc's `sendto`.
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> ssize_t {
    match real!(c"sendto", SendtoFn) {
        Some(f) => f(fd, buf, len, flags, addr, addrlen),
        None => {
            set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// Interposed `sendmsg(2)`: IPv4 UDP datagrams with `SCM_TXTIME` go to the agent.
///
/// # Safety
/// Same contract as libc's `sendmsg`.
#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    let Some(f) = real!(c"sendmsg", SendmsgFn) else {
        set_errno(libc::ENOSYS);
        return -1;
    };
    let bits = entry(fd).map_or(0, |e| e.load(Ordering::Relaxed));
    if bits & (UDP4 | TXTIME) != (UDP4 | TXTIME) || msg.is_null() {
        return f(fd, msg, flags);
    }
    // Never let a bug in the agent path unwind into C.
    let r = std::panic::catch_unwind(|| to_agent(fd, &*msg, bits));
    match r {
        Ok(Handled::Sent(n)) => n as ssize_t,
        Ok(Handled::Error(e)) => {
            set_errno(e);
            -1
        }
        Ok(Handled::Kernel) | Err(_) => f(fd, msg, flags),
    }
}

enum Handled {
    Sent(usize),
    Error(c_int),
    Kernel,
}

struct State {
    client: Option<AgentClient>,
    pid: u32,
    last_attempt_ns: u64,
    warned: bool,
}

static STATE: Mutex<State> = Mutex::new(State { client: None, pid: 0, last_attempt_ns: 0, warned: false });

/// Retry connecting to a missing agent at most this often.
const RECONNECT_NS: u64 = 1_000_000_000;

unsafe fn txtime_of(msg: &msghdr) -> Option<u64> {
    if msg.msg_control.is_null() || msg.msg_controllen < std::mem::size_of::<libc::cmsghdr>() {
        return None;
    }
    let mut c = libc::CMSG_FIRSTHDR(msg);
    while !c.is_null() {
        let h = &*c;
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == SCM_TXTIME && h.cmsg_len >= libc::CMSG_LEN(8) as usize {
            return Some(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const u64));
        }
        c = libc::CMSG_NXTHDR(msg, c);
    }
    None
}

unsafe fn inet_name(fd: c_int, peer: bool) -> Option<libc::sockaddr_in> {
    let mut sin: libc::sockaddr_in = std::mem::zeroed();
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as socklen_t;
    let p = (&mut sin as *mut libc::sockaddr_in).cast::<sockaddr>();
    let r = if peer { libc::getpeername(fd, p, &mut len) } else { libc::getsockname(fd, p, &mut len) };
    (r == 0 && i32::from(sin.sin_family) == libc::AF_INET).then_some(sin)
}

fn lock_state() -> std::sync::MutexGuard<'static, State> {
    match STATE.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    }
}

/// This process's live connection to the agent, connecting when there is none (at most
/// once per [`RECONNECT_NS`] while the agent is missing).
fn attached(st: &mut State) -> Option<&mut AgentClient> {
    let pid = std::process::id();
    if st.pid != pid {
        // A forked child must not share its parent's ring (single producer).
        st.client = None;
        st.pid = pid;
    }
    if st.client.as_ref().is_some_and(|c| !c.agent_alive()) {
        eprintln!("libktsn: the node agent went away; reconnecting");
        st.client = None;
        st.last_attempt_ns = 0;
        st.warned = false;
    }
    if st.client.is_none() {
        connect(st);
    }
    st.client.as_mut()
}

/// One attempt to connect to the agent, unless the last one was under [`RECONNECT_NS`] ago.
fn connect(st: &mut State) {
    let now = Clock::Monotonic.now_ns();
    if st.last_attempt_ns != 0 && now.saturating_sub(st.last_attempt_ns) < RECONNECT_NS {
        return;
    }
    st.last_attempt_ns = now;
    let path = socket_path_from_env();
    match AgentClient::connect(&path) {
        Ok(c) => {
            st.client = Some(c);
            st.warned = false;
        }
        Err(e) => {
            if !st.warned {
                eprintln!(
                    "libktsn: no node agent at {} ({e}); SO_TXTIME datagrams go through the kernel \
                     (no time-aware release)",
                    path.display()
                );
                st.warned = true;
            }
        }
    }
}

unsafe fn to_agent(fd: c_int, msg: &msghdr, bits: u32) -> Handled {
    let Some(txtime) = txtime_of(msg) else { return Handled::Kernel };
    // Destination: the message's address or the connected peer.
    let dst = if !msg.msg_name.is_null() && msg.msg_namelen as usize >= std::mem::size_of::<libc::sockaddr_in>() {
        let sin = std::ptr::read_unaligned(msg.msg_name as *const libc::sockaddr_in);
        if i32::from(sin.sin_family) != libc::AF_INET {
            return Handled::Kernel;
        }
        sin
    } else {
        match inet_name(fd, true) {
            Some(s) => s,
            None => return Handled::Kernel,
        }
    };
    // Source: the socket's own address; an unbound socket gets its ephemeral port now, so
    // that replies reach it and the agent's frames carry the port the kernel would use.
    let mut src = match inet_name(fd, false) {
        Some(s) => s,
        None => return Handled::Kernel,
    };
    if src.sin_port == 0 {
        let mut any: libc::sockaddr_in = std::mem::zeroed();
        any.sin_family = libc::AF_INET as libc::sa_family_t;
        let _ = libc::bind(
            fd,
            (&any as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as socklen_t,
        );
        src = match inet_name(fd, false) {
            Some(s) if s.sin_port != 0 => s,
            _ => return Handled::Kernel,
        };
    }
    let iov_count = msg.msg_iovlen.min(1024);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(iov_count);
    if iov_count > 0 && msg.msg_iov.is_null() {
        return Handled::Kernel;
    }
    for i in 0..iov_count {
        let v = &*msg.msg_iov.add(i);
        if v.iov_len > 0 {
            if v.iov_base.is_null() {
                return Handled::Kernel;
            }
            parts.push(std::slice::from_raw_parts(v.iov_base as *const u8, v.iov_len));
        }
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let desc = Descriptor {
        txtime_ns: txtime,
        clockid: ((bits >> 4) & 0xf) as i32,
        priority: bits >> 16,
        src_ip: u32::from_be(src.sin_addr.s_addr),
        dst_ip: u32::from_be(dst.sin_addr.s_addr),
        src_port: u16::from_be(src.sin_port),
        dst_port: u16::from_be(dst.sin_port),
        flags: FLAG_TXTIME,
        ..Descriptor::default()
    };
    let mut st = lock_state();
    let Some(client) = attached(&mut st) else { return Handled::Kernel };
    match client.submit(&parts, desc) {
        Ok(()) => Handled::Sent(total),
        Err(SubmitError::TooLarge) => Handled::Error(libc::EMSGSIZE),
        // A full ring from a live agent is back-pressure; from a dead one, fall back.
        Err(SubmitError::NoSlot) if client.agent_alive() => Handled::Error(libc::ENOBUFS),
        Err(SubmitError::NoSlot) => {
            eprintln!("libktsn: the node agent went away; reconnecting");
            st.client = None;
            st.last_attempt_ns = Clock::Monotonic.now_ns();
            Handled::Kernel
        }
    }
}
