//! `libktsn.so` under an unmodified Python program in a network namespace.
//!
//! The program opens a TCP connection (echoed by a server in the peer namespace), then
//! sends `SO_TXTIME` datagrams (with `SCM_TXTIME`) and one plain `sendto` datagram. With the
//! agent running, the txtime datagrams arrive in the other namespace with the program's
//! source IP and port and the configured PCP, released no earlier than their transmit
//! times; the plain one and the TCP exchange go through the kernel untouched. Without an
//! agent, everything still arrives through the kernel and the program is unaffected.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tsn_datapath::bench::{default_python, find_shim};
use tsn_datapath::netns::{in_netns, spawn_in_netns, unique_prefix, Capture, End, Netns};
use tsn_datapath::sys;
use tsn_datapath::{
    AfPacketTx, Clock, DatapathError, DatapathSchedule, EngineConfig, EngineHandle, PortSchedule, PortSpec, ShimServer,
    StreamSpec, TxBackend,
};

const TXTIME_PORT: u16 = 7000;
const TCP_PORT: u16 = 7001;
const PLAIN_PORT: u16 = 7002;
const COUNT: usize = 40;
const PCP: u8 = 5;

/// The unmodified application: TCP first (it also resolves the peer's MAC), then
/// SO_TXTIME datagrams, then one plain datagram. Prints the UDP socket's port and the
/// transmit times it used.
const APP: &str = r#"
import socket, struct, sys, time
dst = sys.argv[1]
t = socket.create_connection((dst, 7001), timeout=5)
t.sendall(b"hello over tcp")
echo = b""
while len(echo) < 14:
    chunk = t.recv(64)
    if not chunk:
        break
    echo += chunk
assert echo == b"hello over tcp", echo
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, 61, struct.pack("iI", time.CLOCK_TAI, 0))
u.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, 3)
start = time.clock_gettime_ns(time.CLOCK_TAI) + 50_000_000
times = []
for k in range(40):
    tx = start + k * 2_000_000
    times.append(tx)
    u.sendmsg([b"ktsn-%d" % k], [(socket.SOL_SOCKET, 61, struct.pack("Q", tx))], 0, (dst, 7000))
u.sendto(b"plain", (dst, 7002))
t.sendall(b"bye")
t.close()
print("port", u.getsockname()[1])
print("times", " ".join(str(x) for x in times))
time.sleep(0.1)
"#;

struct Net {
    _ns: Netns,
    a: End,
    b: End,
    a_mac: [u8; 6],
}

fn net() -> Net {
    assert!(tsn_datapath::netns::available(), "this test needs root and iproute2");
    let p = unique_prefix();
    let (na, nb) = (format!("{p}a"), format!("{p}b"));
    let ns = Netns::create(&[na.clone(), nb.clone()]).unwrap();
    let (a, b) = ns.veth((&na, &format!("{p}a0")), (&nb, &format!("{p}b0")), [10, 214, 1]).unwrap();
    let a_if = a.ifname.clone();
    let (a_mac, _) =
        in_netns(&na, move || sys::if_addresses(&a_if).map_err(|e| DatapathError::Io("mac".into(), e))).unwrap();
    Net { _ns: ns, a, b, a_mac }
}

/// Echo server for one TCP connection in the peer namespace.
fn tcp_echo(netns: &str, ip: Ipv4Addr) -> std::thread::JoinHandle<Result<Vec<u8>, DatapathError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = spawn_in_netns(netns, move || {
        let l = TcpListener::bind((ip, TCP_PORT)).map_err(|e| DatapathError::Io("tcp bind".into(), e))?;
        let _ = tx.send(());
        let (mut c, _) = l.accept().map_err(|e| DatapathError::Io("accept".into(), e))?;
        c.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let mut echoed = false;
        loop {
            let n = c.read(&mut buf).map_err(|e| DatapathError::Io("tcp read".into(), e))?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if !echoed && got.len() >= 14 {
                c.write_all(&got[..14]).map_err(|e| DatapathError::Io("tcp write".into(), e))?;
                echoed = true;
            }
        }
        Ok(got)
    })
    .unwrap();
    rx.recv_timeout(Duration::from_secs(5)).expect("echo server listening");
    h
}

fn run_app(netns: &str, shim: &Path, socket: &Path, dst: Ipv4Addr, dir: &Path) -> Output {
    let script = dir.join("app.py");
    std::fs::write(&script, APP).unwrap();
    Command::new("ip")
        .args(["netns", "exec", netns, "env"])
        .arg(format!("LD_PRELOAD={}", shim.display()))
        .arg(format!("KTSN_AGENT_SOCKET={}", socket.display()))
        .arg(default_python())
        .arg(&script)
        .arg(dst.to_string())
        .output()
        .unwrap()
}

fn parse_app(out: &Output) -> (u16, Vec<u64>) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "app failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let mut port = 0;
    let mut times = Vec::new();
    for line in stdout.lines() {
        if let Some(p) = line.strip_prefix("port ") {
            port = p.trim().parse().unwrap();
        } else if let Some(t) = line.strip_prefix("times ") {
            times = t.split_whitespace().map(|x| x.parse().unwrap()).collect();
        }
    }
    assert_eq!(times.len(), COUNT);
    (port, times)
}

fn shim() -> PathBuf {
    find_shim(None).expect("libktsn.so next to the test binary (cargo builds the cdylib for this package's tests)")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ktsn-shim-{tag}-{}", unique_prefix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn txtime_datagrams_go_through_the_agent_and_tcp_is_untouched() {
    let n = net();
    let dir = temp_dir("agent");
    let a_if = n.a.ifname.clone();
    let (a_ip, tx) = in_netns(&n.a.netns, move || {
        let (_, ip) = sys::if_addresses(&a_if).map_err(|e| DatapathError::Io("addr".into(), e))?;
        Ok((ip, AfPacketTx::open(&a_if)?))
    })
    .unwrap();
    // SCHED_FIFO as in production: the machine running the tests is busy.
    let engine = EngineHandle::start(EngineConfig {
        netns: Some(n.a.netns.clone()),
        realtime_priority: Some(50),
        ..EngineConfig::default()
    })
    .unwrap();
    let port = n.a.ifname.clone();
    engine
        .add_port(
            PortSpec {
                name: port.clone(),
                mac: n.a_mac,
                ipv4: a_ip,
                rate_bps: 1_000_000_000,
                gcl: None,
                tx_guard_ns: 0,
            },
            Box::new(tx) as Box<dyn TxBackend>,
        )
        .unwrap();
    engine
        .apply(DatapathSchedule {
            generation: 1,
            ports: vec![PortSchedule { name: port.clone(), rate_bps: 0, gcl: None }],
            streams: vec![StreamSpec {
                id: "s1".into(),
                dst_ip: n.b.ip,
                dst_port: TXTIME_PORT,
                src_port: None,
                port,
                pcp: PCP,
                vlan_id: 0,
                dst_mac: None, // from the neighbour table the TCP connection fills
                period_ns: 1_000_000,
                offset_ns: 0,
                max_frame_size: 64,
            }],
        })
        .unwrap();
    let sock = dir.join("agent.sock");
    let server = ShimServer::start(&engine, &sock, 256).unwrap();
    let capture = Capture::start(&n.b.netns, &n.b.ifname, vec![TXTIME_PORT, PLAIN_PORT]).unwrap();
    let echo = tcp_echo(&n.b.netns, n.b.ip);

    let out = run_app(&n.a.netns, &shim(), &sock, n.b.ip, &dir);
    let (udp_port, times) = parse_app(&out);
    let counters = engine.wait_idle(Duration::from_secs(5));
    let frames = capture.finish().unwrap();
    let tcp = echo.join().unwrap().unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(tcp, b"hello over tcpbye", "the TCP connection in the same process is unaffected");
    let t = counters.total;
    assert_eq!(t.submitted, COUNT as u64, "every SO_TXTIME datagram went to the agent: {t:?}");
    assert_eq!(t.accounted(), t.submitted);
    let txtime: Vec<_> = frames.iter().filter(|r| r.frame.dst_port == TXTIME_PORT).collect();
    let plain: Vec<_> = frames.iter().filter(|r| r.frame.dst_port == PLAIN_PORT).collect();
    assert_eq!(txtime.len() as u64, t.sent, "what the agent sent arrived");
    assert!(t.sent >= COUNT as u64 * 3 / 4, "most datagrams were on time: {t:?}");
    for r in &txtime {
        let f = &r.frame;
        assert_eq!((f.src_ip, f.src_port), (n.a.ip, udp_port), "the program's own source IP and port");
        assert_eq!(f.eth.vlan.map(|v| v.pcp), Some(PCP), "the configured PCP");
        assert_eq!(f.eth.src_mac, n.a_mac);
        let k: usize = std::str::from_utf8(&f.payload).unwrap().strip_prefix("ktsn-").unwrap().parse().unwrap();
        assert!(r.rx_tai_ns >= times[k], "datagram {k} left {} ns early", times[k] - r.rx_tai_ns);
    }
    assert_eq!(plain.len(), 1, "sendto without a transmit time goes through the kernel");
    assert_eq!(plain[0].frame.eth.vlan, None, "…untagged, as the kernel sends it");
    assert_eq!(plain[0].frame.src_port, udp_port);
}

#[test]
fn without_an_agent_the_program_falls_back_to_the_kernel() {
    let n = net();
    let dir = temp_dir("noagent");
    let capture = Capture::start(&n.b.netns, &n.b.ifname, vec![TXTIME_PORT, PLAIN_PORT]).unwrap();
    let echo = tcp_echo(&n.b.netns, n.b.ip);
    let started = Clock::Tai.now_ns();
    let out = run_app(&n.a.netns, &shim(), &dir.join("missing.sock"), n.b.ip, &dir);
    let (udp_port, _) = parse_app(&out);
    std::thread::sleep(Duration::from_millis(50));
    let frames = capture.finish().unwrap();
    let tcp = echo.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("libktsn: no node agent"), "one warning: {stderr}");
    assert_eq!(stderr.matches("libktsn:").count(), 1, "warned once: {stderr}");
    assert_eq!(tcp, b"hello over tcpbye");
    let txtime = frames.iter().filter(|r| r.frame.dst_port == TXTIME_PORT).count();
    assert_eq!(txtime, COUNT, "every datagram still arrives, through the kernel");
    assert!(frames.iter().all(|r| r.frame.eth.vlan.is_none() && r.frame.src_port == udp_port));
    assert!(frames.iter().all(|r| r.rx_tai_ns >= started));
}

/// Sends one SO_TXTIME datagram every 10 ms for `seconds`, tolerating nothing: any
/// exception fails the program. Then, if asked, dies by SIGKILL.
const STEADY_APP: &str = r#"
import os, signal, socket, struct, sys, time
dst, seconds, die = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "die"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, 61, struct.pack("iI", time.CLOCK_TAI, 0))
end = time.monotonic() + seconds
k = 0
while time.monotonic() < end:
    tx = time.clock_gettime_ns(time.CLOCK_TAI) + 2_000_000
    u.sendmsg([b"steady-%d" % k], [(socket.SOL_SOCKET, 61, struct.pack("Q", tx))], 0, (dst, 7000))
    k += 1
    time.sleep(0.01)
print("sent", k)
sys.stdout.flush()
if die:
    os.kill(os.getpid(), signal.SIGKILL)
"#;

fn start_agent(n: &Net, sock: &Path) -> (EngineHandle, ShimServer) {
    let a_if = n.a.ifname.clone();
    let (a_ip, b_mac, tx) = {
        let b_if = n.b.ifname.clone();
        let b_mac =
            in_netns(&n.b.netns, move || sys::if_addresses(&b_if).map_err(|e| DatapathError::Io("mac".into(), e)))
                .unwrap()
                .0;
        let (ip, tx) = in_netns(&n.a.netns, move || {
            let (_, ip) = sys::if_addresses(&a_if).map_err(|e| DatapathError::Io("addr".into(), e))?;
            Ok((ip, AfPacketTx::open(&a_if)?))
        })
        .unwrap();
        (ip, b_mac, tx)
    };
    let engine = EngineHandle::start(EngineConfig { realtime_priority: Some(50), ..EngineConfig::default() }).unwrap();
    let port = n.a.ifname.clone();
    engine
        .add_port(
            PortSpec {
                name: port.clone(),
                mac: n.a_mac,
                ipv4: a_ip,
                rate_bps: 1_000_000_000,
                gcl: None,
                tx_guard_ns: 0,
            },
            Box::new(tx) as Box<dyn TxBackend>,
        )
        .unwrap();
    engine
        .apply(DatapathSchedule {
            generation: 1,
            ports: vec![PortSchedule { name: port.clone(), rate_bps: 0, gcl: None }],
            streams: vec![StreamSpec {
                id: "steady".into(),
                dst_ip: n.b.ip,
                dst_port: TXTIME_PORT,
                src_port: None,
                port,
                pcp: PCP,
                vlan_id: 0,
                dst_mac: Some(b_mac),
                period_ns: 10_000_000,
                offset_ns: 0,
                max_frame_size: 64,
            }],
        })
        .unwrap();
    let server = ShimServer::start(&engine, sock, 64).unwrap();
    (engine, server)
}

fn spawn_steady(n: &Net, sock: &Path, dir: &Path, seconds: &str, die: bool) -> Child {
    let script = dir.join("steady.py");
    std::fs::write(&script, STEADY_APP).unwrap();
    Command::new("ip")
        .args(["netns", "exec", &n.a.netns, "env"])
        .arg(format!("LD_PRELOAD={}", shim().display()))
        .arg(format!("KTSN_AGENT_SOCKET={}", sock.display()))
        .arg(default_python())
        .arg(&script)
        .args([n.b.ip.to_string(), seconds.to_string(), if die { "die" } else { "live" }.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_program_survives_an_agent_restart() {
    let n = net();
    let dir = temp_dir("restart");
    let sock = dir.join("agent.sock");
    let capture = Capture::start(&n.b.netns, &n.b.ifname, vec![TXTIME_PORT]).unwrap();
    let first = start_agent(&n, &sock);
    let app = spawn_steady(&n, &sock, &dir, "4.0", false);
    std::thread::sleep(Duration::from_millis(1000));
    let c1 = first.0.wait_idle(Duration::from_secs(1));
    drop(first); // the agent goes away (socket removed, regions unmapped)
    std::thread::sleep(Duration::from_millis(800));
    let second = start_agent(&n, &sock);
    let out = app.wait_with_output().unwrap();
    let c2 = second.0.wait_idle(Duration::from_secs(5));
    drop(second);
    let frames = capture.finish().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the program kept running: {stderr}");
    assert!(stderr.contains("went away"), "{stderr}");
    assert!(c1.total.sent > 0, "first agent sent: {:?}", c1.total);
    assert!(c2.total.sent > 0, "the program reattached to the restarted agent: {:?}", c2.total);
    assert_eq!(c2.total.accounted(), c2.total.submitted);
    let tagged = frames.iter().filter(|r| r.frame.eth.vlan.is_some()).count();
    let untagged = frames.len() - tagged;
    assert!(tagged as u64 >= c1.total.sent.min(1) + c2.total.sent.min(1));
    assert!(untagged > 0, "while no agent ran, datagrams went through the kernel");
}

#[test]
fn an_application_crash_releases_its_region() {
    let n = net();
    let dir = temp_dir("crash");
    let sock = dir.join("agent.sock");
    let (engine, server) = start_agent(&n, &sock);
    let app = spawn_steady(&n, &sock, &dir, "0.3", true);
    let out = app.wait_with_output().unwrap();
    assert!(!out.status.success(), "the program killed itself");
    let mut sessions = u64::MAX;
    for _ in 0..200 {
        sessions = engine.counters().sessions;
        if sessions == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let c = engine.wait_idle(Duration::from_secs(5));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(sessions, 0, "the crashed program's region was retired");
    assert!(c.total.submitted > 0);
    assert_eq!(c.total.accounted(), c.total.submitted);
}

/// Enables SO_TXTIME, says so, and waits for a line on stdin before it exits; it never sends.
const ATTACH_APP: &str = r#"
import socket, struct, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, 61, struct.pack("iI", time.CLOCK_TAI, 0))
print("set", flush=True)
sys.stdin.readline()
"#;

#[test]
fn the_shim_attaches_when_so_txtime_is_enabled_not_on_the_first_send() {
    let n = net();
    let dir = temp_dir("attach");
    let sock = dir.join("agent.sock");
    let (engine, server) = start_agent(&n, &sock);
    let script = dir.join("attach.py");
    std::fs::write(&script, ATTACH_APP).unwrap();
    let mut app = Command::new("ip")
        .args(["netns", "exec", &n.a.netns, "env"])
        .arg(format!("LD_PRELOAD={}", shim().display()))
        .arg(format!("KTSN_AGENT_SOCKET={}", sock.display()))
        .arg(default_python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let out = app.stdout.as_mut().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
    assert_eq!(line.trim(), "set");
    // The region is attached although nothing was sent (the engine picks it up from the
    // shim server's thread, so give it a moment).
    let mut sessions = 0;
    for _ in 0..500 {
        sessions = engine.counters().sessions;
        if sessions == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    app.stdin.as_mut().unwrap().write_all(b"done\n").unwrap();
    let out = app.wait_with_output().unwrap();
    let c = engine.wait_idle(Duration::from_secs(5));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sessions, 1, "the program's region was attached before its first send");
    assert_eq!(c.total.submitted, 0, "nothing was sent");
}
