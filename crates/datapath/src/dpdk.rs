//! DPDK TX backend (feature `dpdk`): frames leave through a DPDK ethdev, by default the
//! `net_af_packet` virtual device on a kernel interface, so it needs no NIC and no
//! hugepages (EAL runs with `--no-huge --no-pci`).
//!
//! The EAL is initialised once per process; each backend hot-plugs its own vdev (in the
//! calling thread's network namespace) and removes it on drop. The fast-path calls go
//! through a small C wrapper (`csrc/tsn_dpdk.c`) because DPDK's are static inline.

use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::backend::TxBackend;
use crate::DatapathError;

extern "C" {
    fn tsn_dpdk_init(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn tsn_dpdk_attach(name: *const c_char, args: *const c_char) -> c_int;
    fn tsn_dpdk_send(port: u16, data: *const u8, len: u16) -> c_int;
    fn tsn_dpdk_detach(port: u16, name: *const c_char);
}

static EAL: OnceLock<Result<(), String>> = OnceLock::new();
static NEXT_VDEV: AtomicU32 = AtomicU32::new(0);
/// The EAL's control path is not thread-safe: attach/detach one at a time.
static CONTROL: Mutex<()> = Mutex::new(());

/// Library directory of the system DPDK (from pkg-config at build time).
const DPDK_LIBDIR: &str = env!("TSN_DPDK_LIBDIR");

/// Initialises the EAL once per process (later calls return the first result).
pub fn eal_init() -> Result<(), DatapathError> {
    EAL.get_or_init(|| {
        let mut args: Vec<String> =
            ["tsn-datapath", "--no-huge", "--no-pci", "--no-shconf", "-m", "64", "--log-level=*:error"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let cpu = std::thread::available_parallelism().map_or(0, |n| n.get() - 1);
        args.extend(["-l".to_string(), cpu.to_string()]);
        let pmd = format!("{DPDK_LIBDIR}/librte_net_af_packet.so");
        if std::path::Path::new(&pmd).exists() {
            args.extend(["-d".to_string(), pmd]);
        }
        // The EAL keeps pointers into argv: leak it (once per process).
        let mut argv: Vec<*mut c_char> =
            args.into_iter().filter_map(|a| CString::new(a).ok()).map(CString::into_raw).collect();
        let argc = argv.len() as c_int;
        let argv_ptr = argv.as_mut_ptr();
        std::mem::forget(argv);
        // SAFETY: argv is a leaked array of valid NUL-terminated strings that outlives the EAL.
        let r = unsafe { tsn_dpdk_init(argc, argv_ptr) };
        if r < 0 {
            Err(format!("rte_eal_init failed: {}", std::io::Error::from_raw_os_error(-r)))
        } else {
            Ok(())
        }
    })
    .clone()
    .map_err(DatapathError::Dpdk)
}

/// One DPDK port (a hot-plugged vdev) used for transmission.
#[derive(Debug)]
pub struct DpdkTx {
    port: u16,
    name: CString,
}

impl DpdkTx {
    /// Attaches `net_af_packet<n>` on kernel interface `ifname` (calling thread's namespace).
    pub fn open_af_packet(ifname: &str) -> Result<DpdkTx, DatapathError> {
        eal_init()?;
        let n = NEXT_VDEV.fetch_add(1, Ordering::Relaxed);
        let name = CString::new(format!("net_af_packet{n}")).map_err(|e| DatapathError::Dpdk(e.to_string()))?;
        let args = CString::new(format!("iface={ifname},qpairs=1")).map_err(|e| DatapathError::Dpdk(e.to_string()))?;
        let _guard = CONTROL.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: both strings are valid and NUL-terminated for the duration of the call.
        let r = unsafe { tsn_dpdk_attach(name.as_ptr(), args.as_ptr()) };
        if r < 0 {
            return Err(DatapathError::Dpdk(format!(
                "attaching {} on {ifname}: {}",
                name.to_string_lossy(),
                std::io::Error::from_raw_os_error(-r)
            )));
        }
        Ok(DpdkTx { port: r as u16, name })
    }
}

impl TxBackend for DpdkTx {
    fn send(&mut self, frame: &[u8]) -> Result<(), DatapathError> {
        let len = u16::try_from(frame.len()).map_err(|_| DatapathError::Dpdk("frame too large".into()))?;
        for _ in 0..100 {
            // SAFETY: `frame` is valid for `len` bytes; the port was attached by us.
            let r = unsafe { tsn_dpdk_send(self.port, frame.as_ptr(), len) };
            match r {
                0 => return Ok(()),
                e if e == -libc::EAGAIN => std::hint::spin_loop(),
                e => return Err(DatapathError::Dpdk(format!("send: {}", std::io::Error::from_raw_os_error(-e)))),
            }
        }
        Err(DatapathError::Dpdk("TX ring stayed full".into()))
    }

    fn kind(&self) -> &'static str {
        "dpdk"
    }
}

impl Drop for DpdkTx {
    fn drop(&mut self) {
        let _guard = CONTROL.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the port and name are the ones attached in `open_af_packet`.
        unsafe { tsn_dpdk_detach(self.port, self.name.as_ptr()) };
    }
}
