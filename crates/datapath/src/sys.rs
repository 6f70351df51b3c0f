//! The few Linux system calls the datapath needs that `std` does not offer: clocks and
//! absolute sleeps, real-time scheduling, AF_PACKET sockets with auxiliary data and kernel
//! timestamps, memfd/mmap shared memory, fd passing over unix sockets, and `setns`.
//!
//! This is the only module of the crate besides [`crate::shm`] that uses `unsafe`: every
//! block is a direct libc call whose arguments are built right there from owned Rust
//! values, or a read of a C struct the kernel just filled in. Everything returned to the
//! rest of the crate is a safe, owned type (`OwnedFd`, `Mapping`, plain values).

use std::ffi::CString;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// `SO_TXTIME` / `SCM_TXTIME` (asm-generic/socket.h).
pub const SO_TXTIME: libc::c_int = 61;
/// `SCM_TXTIME`: the control message carrying a `u64` transmit time.
pub const SCM_TXTIME: libc::c_int = SO_TXTIME;
const PACKET_AUXDATA: libc::c_int = 8;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
const SO_TIMESTAMPNS: libc::c_int = 35;
const SCM_TIMESTAMPNS: libc::c_int = SO_TIMESTAMPNS;
const PR_SET_TIMERSLACK: libc::c_int = 29;
/// `sll_pkttype` of a frame this host sent (seen by an AF_PACKET socket bound to the port).
pub const PACKET_OUTGOING: u8 = 4;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

// ───────────────────────────── clocks ─────────────────────────────

/// Current time of `clock` (a `CLOCK_*` id) in nanoseconds; 0 if the clock does not exist.
pub fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    if r != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// Sleeps until `clock` reads `deadline_ns` (absolute; returns early only on a signal).
pub fn sleep_until(clock: libc::clockid_t, deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec; a null remainder is allowed with TIMER_ABSTIME.
    unsafe {
        libc::clock_nanosleep(clock, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut());
    }
}

/// Sets the calling thread's timer slack (`PR_SET_TIMERSLACK`); 1 ns makes sleeps precise.
pub fn set_timer_slack(ns: u64) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    cvt(unsafe { libc::prctl(PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0) }).map(|_| ())
}

/// Makes the calling thread `SCHED_FIFO` with `priority` (1–99).
pub fn set_fifo(priority: i32) -> io::Result<()> {
    let param = libc::sched_param { sched_priority: priority };
    // SAFETY: pid 0 = the calling thread; `param` is a valid sched_param.
    cvt(unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) }).map(|_| ())
}

/// Pins the calling thread to CPU `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is its empty value; CPU_SET checks the bound.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cpu index out of range"));
        }
        libc::CPU_SET(cpu, &mut set);
        cvt(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)).map(|_| ())
    }
}

// ───────────────────────────── namespaces ─────────────────────────────

/// Moves the calling *thread* into the network namespace `/var/run/netns/<name>`.
pub fn enter_netns(name: &str) -> io::Result<()> {
    let f = std::fs::File::open(format!("/var/run/netns/{name}"))?;
    // SAFETY: `f` is an open namespace file for the duration of the call.
    cvt(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }).map(|_| ())
}

// ───────────────────────────── interfaces ─────────────────────────────

/// Index of interface `name` in the calling thread's namespace.
pub fn if_index(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(idx)
    }
}

/// An interface's MAC address and first IPv4 address with its prefix length.
pub type InterfaceAddresses = ([u8; 6], Option<(Ipv4Addr, u8)>);

/// MAC address and first IPv4 address (with prefix length) of interface `name`, as seen
/// from the calling thread's namespace.
pub fn if_addresses(name: &str) -> io::Result<InterfaceAddresses> {
    let mut mac = None;
    let mut ipv4 = None;
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `ifap` with a list we free below; we only read the entries
    // and the sockaddrs whose family says what they are.
    unsafe {
        cvt(libc::getifaddrs(&mut ifap))?;
        let mut cur = ifap;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            if std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() != name.as_bytes() {
                continue;
            }
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_PACKET => {
                    let ll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                    if ll.sll_halen == 6 {
                        let mut m = [0u8; 6];
                        m.copy_from_slice(&ll.sll_addr[..6]);
                        mac = Some(m);
                    }
                }
                libc::AF_INET if ipv4.is_none() => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                    let mut prefix = 32u8;
                    if !ifa.ifa_netmask.is_null() {
                        let nm = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                        prefix = u32::from_be(nm.sin_addr.s_addr).count_ones() as u8;
                    }
                    ipv4 = Some((addr, prefix));
                }
                _ => {}
            }
        }
        libc::freeifaddrs(ifap);
    }
    match mac {
        Some(m) => Ok((m, ipv4)),
        None => Err(io::Error::new(io::ErrorKind::NotFound, format!("interface {name} not found"))),
    }
}

// ───────────────────────────── AF_PACKET ─────────────────────────────

/// A frame received on an AF_PACKET socket.
#[derive(Debug, Clone)]
pub struct RxFrame {
    /// The frame as delivered (an 802.1Q tag may have been moved to `vlan_tci`).
    pub bytes: Vec<u8>,
    /// 802.1Q TCI from `PACKET_AUXDATA` when the kernel stripped the tag (VLAN offload).
    pub vlan_tci: Option<u16>,
    /// Kernel receive timestamp, `CLOCK_REALTIME` ns (0 if none).
    pub timestamp_ns: u64,
    /// `sll_pkttype` (host, broadcast, outgoing, …).
    pub pkt_type: u8,
    /// The kernel has not filled in the transport checksum yet (checksum offload of a
    /// locally generated packet, e.g. the kernel's own UDP over veth).
    pub checksum_pending: bool,
}

/// A raw AF_PACKET socket bound to one interface (all protocols).
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// Opens a raw packet socket on `ifname` in the calling thread's namespace.
    pub fn open(ifname: &str) -> io::Result<PacketSocket> {
        let ifindex = if_index(ifname)?;
        let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        // SAFETY: plain socket(2) call; the fd is owned right after.
        let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) })?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain data; zeroed then filled.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the given length.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        })?;
        Ok(PacketSocket { fd, ifindex })
    }

    /// The bound interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends one complete Ethernet frame (no FCS).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: `frame` is a valid buffer of `frame.len()` bytes.
        let n = cvt_size(unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) })?;
        if n != frame.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short AF_PACKET send"));
        }
        Ok(())
    }

    /// Enables kernel receive timestamps and VLAN auxiliary data, and a large receive buffer.
    pub fn enable_rx_metadata(&self, rcvbuf_bytes: usize) -> io::Result<()> {
        set_int_opt(self.fd.as_raw_fd(), libc::SOL_PACKET, PACKET_AUXDATA, 1)?;
        set_int_opt(self.fd.as_raw_fd(), libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)?;
        let want = rcvbuf_bytes.min(i32::MAX as usize) as i32;
        if set_int_opt(self.fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, want).is_err() {
            set_int_opt(self.fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, want)?;
        }
        Ok(())
    }

    /// Sets a receive timeout (`None` = block forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        set_timeout(self.fd.as_raw_fd(), timeout)
    }

    /// Receives one frame; `Ok(None)` on timeout.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<RxFrame>> {
        let mut control = [0u64; 64];
        // SAFETY: all pointers reference live local buffers of the stated sizes; the kernel
        // fills `sll`, `buf` and `control`, which we then read only within their lengths.
        unsafe {
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control);
            let n = libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0);
            if n < 0 {
                let e = io::Error::last_os_error();
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
                    return Ok(None);
                }
                return Err(e);
            }
            let n = (n as usize).min(buf.len());
            let mut vlan_tci = None;
            let mut timestamp_ns = 0;
            let mut checksum_pending = false;
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if c.cmsg_level == libc::SOL_PACKET && c.cmsg_type == PACKET_AUXDATA {
                    let aux = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::tpacket_auxdata);
                    checksum_pending = aux.tp_status & TP_STATUS_CSUMNOTREADY != 0;
                    if aux.tp_status & TP_STATUS_VLAN_VALID != 0 || aux.tp_vlan_tci != 0 {
                        vlan_tci = Some(aux.tp_vlan_tci);
                    }
                } else if c.cmsg_level == libc::SOL_SOCKET && c.cmsg_type == SCM_TIMESTAMPNS {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::timespec);
                    timestamp_ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            Ok(Some(RxFrame {
                bytes: buf[..n].to_vec(),
                vlan_tci,
                timestamp_ns,
                pkt_type: sll.sll_pkttype,
                checksum_pending,
            }))
        }
    }
}

fn set_int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` is a live c_int of the stated size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    })
    .map(|_| ())
}

fn set_timeout(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    let tv = match timeout {
        Some(d) => libc::timeval { tv_sec: d.as_secs() as libc::time_t, tv_usec: d.subsec_micros().max(1) as _ },
        None => libc::timeval { tv_sec: 0, tv_usec: 0 },
    };
    // SAFETY: `tv` is a live timeval of the stated size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    })
    .map(|_| ())
}

// ───────────────────────────── UDP with SO_TXTIME (bench rows a/b) ─────────────────────────────

/// Enables `SO_TXTIME` on a socket with the given clock (no deadline mode, no error reports).
pub fn enable_txtime(fd: RawFd, clock: libc::clockid_t) -> io::Result<()> {
    #[repr(C)]
    struct SockTxtime {
        clockid: libc::clockid_t,
        flags: u32,
    }
    let v = SockTxtime { clockid: clock, flags: 0 };
    // SAFETY: `v` is a live sock_txtime of the stated size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_TXTIME,
            (&v as *const SockTxtime).cast(),
            std::mem::size_of::<SockTxtime>() as u32,
        )
    })
    .map(|_| ())
}

/// Sends `payload` on a connected datagram socket with an `SCM_TXTIME` control message.
pub fn send_with_txtime(fd: RawFd, payload: &[u8], txtime_ns: u64) -> io::Result<usize> {
    let mut control = [0u64; 8];
    // SAFETY: the msghdr points at live local buffers; CMSG_* stay within `control`,
    // which is large enough for one u64 control message.
    unsafe {
        let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut _, iov_len: payload.len() };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(8) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = SCM_TXTIME;
        (*c).cmsg_len = libc::CMSG_LEN(8) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u64, txtime_ns);
        cvt_size(libc::sendmsg(fd, &msg, 0))
    }
}

// ───────────────────────────── shared memory ─────────────────────────────

/// Creates an anonymous memory file of `len` bytes, mode 0600, close-on-exec.
pub fn memfd(name: &str, len: usize) -> io::Result<OwnedFd> {
    let c = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))?;
    // SAFETY: `c` is NUL-terminated; the returned fd is owned right after.
    let fd = cvt(unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC) })?;
    // SAFETY: fresh fd owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain syscalls on an owned fd.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) })?;
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) })?;
    Ok(fd)
}

/// Size in bytes of the file behind `fd`.
pub fn fd_size(fd: RawFd) -> io::Result<usize> {
    // SAFETY: `st` is plain data filled by fstat.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        cvt(libc::fstat(fd, &mut st))?;
        Ok(st.st_size as usize)
    }
}

/// A shared, read-write memory mapping, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; concurrent access goes through atomics in
// `shm`, and the pointer itself is only freed in `drop`.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` shared and read-write.
    pub fn map(fd: RawFd, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping; failure is MAP_FAILED.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: p.cast(), len })
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never, for a successful map).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful mmap and are unmapped once.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

// ───────────────────────────── fd passing ─────────────────────────────

/// Sends `data` and one file descriptor over a unix stream socket (`SCM_RIGHTS`).
pub fn send_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> io::Result<()> {
    let mut control = [0u64; 4];
    // SAFETY: msghdr over live local buffers; one int control message fits in `control`.
    unsafe {
        let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut libc::c_int, fd);
        let n = cvt_size(libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL))?;
        if n != data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
    }
    Ok(())
}

/// Receives up to `buf.len()` bytes and at most one passed file descriptor.
pub fn recv_with_fd(sock: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut control = [0u64; 8];
    // SAFETY: msghdr over live local buffers; received fds are taken into OwnedFd at once.
    unsafe {
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        let n = cvt_size(libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC))?;
        let mut fd = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    let raw = std::ptr::read_unaligned((libc::CMSG_DATA(c) as *const libc::c_int).add(i));
                    let owned = OwnedFd::from_raw_fd(raw);
                    if fd.is_none() {
                        fd = Some(owned);
                    } // extra fds are dropped (closed) right here
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Ok((n, fd))
    }
}

/// Credentials (pid, uid) of the peer of a connected unix socket.
pub fn peer_credentials(sock: RawFd) -> io::Result<(i32, u32)> {
    // SAFETY: `cred` is plain data of the stated size, filled by getsockopt.
    unsafe {
        let mut cred: libc::ucred = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        cvt(libc::getsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        ))?;
        Ok((cred.pid, cred.uid))
    }
}

/// Whether the peer of a connected stream socket has closed it (a non-blocking peek reads
/// end-of-file or a hard error), without consuming data.
pub fn peer_closed(sock: RawFd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: `b` is a live one-byte buffer.
    let n = unsafe { libc::recv(sock, b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    if n == 0 {
        return true;
    }
    if n < 0 {
        let e = io::Error::last_os_error();
        return !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted);
    }
    false
}
