//! Helpers of the multi-process integration tests and the pipeline benchmark: the demo
//! network, stream requests, unique RabbitMQ namespaces and PostgreSQL databases, service
//! processes that are killed on drop, and an outcome collector; a RESTCONF client of the
//! gateway ([`restconf`]) and an emulated network for the topology service ([`network`]).

pub mod network;
pub mod restconf;
pub mod tsn_network;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tsn_bus::{Bus, ConsumerOptions, Subscription};
use tsn_model::Topology;
use tsn_pipeline::{decode, v1};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call: `{prefix}{pid}-{n}`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The repository root (from `CARGO_MANIFEST_DIR`, read at run time).
pub fn repo_root() -> PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    Path::new(&manifest).join("../..")
}

/// The demo network (`examples/demo-topology.json`): the μTSN-CP ring of 4 bridges with 3
/// end stations each, every station link with a MAC address.
pub fn demo_topology() -> Topology {
    let path = repo_root().join("examples/demo-topology.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("demo topology is tsn-model JSON")
}

/// The MAC (IEEE form) of end station `esB-K` in the demo topology.
pub fn station_mac(b: usize, k: usize) -> String {
    format!("02-00-00-00-{b:02X}-{k:02X}")
}

/// An end-station interface by MAC.
pub fn station(b: usize, k: usize) -> v1::EndStation {
    v1::EndStation { mac_address: station_mac(b, k), interface_name: String::new() }
}

/// Stream request `n` of the standard test set: talker and listener on different bridges,
/// periods 1/2/4 ms, 1–2 frames of 100–1000 B, latency bound of one period.
pub fn stream_request(n: usize) -> v1::StreamRequest {
    let b = n % 4;
    let k = (n / 4) % 3;
    let lb = (b + 1 + n % 3) % 4;
    let lk = (k + 1) % 3;
    let period_ns = [1_000_000u64, 2_000_000, 4_000_000][n % 3];
    v1::StreamRequest {
        stream_id: format!("02-00-00-00-{b:02X}-{k:02X}:{n:02X}-{:02X}", n / 256),
        talker: Some(station(b, k)),
        listeners: vec![station(lb, lk)],
        period_ns,
        max_frames_per_period: 1 + (n % 2) as u32,
        max_frame_size: 100 + (n as u32 * 97) % 900,
        max_latency_ns: period_ns,
        frame: Some(v1::DataFrame {
            destination_mac: format!("01-00-5E-00-00-{n:02X}"),
            pcp: 7,
            vlan_id: 100,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Outcomes of compute requests, by request id (every delivery kept, to count duplicates).
#[derive(Debug)]
pub struct Outcomes {
    sub: Subscription,
    /// Every outcome received, per request id, in arrival order.
    pub seen: BTreeMap<String, Vec<v1::RequestOutcome>>,
}

impl Outcomes {
    /// Subscribes `queue` to `schedule.failed` and `deploy.completed` (do it before
    /// publishing anything: events matching no queue are dropped).
    pub async fn subscribe(bus: &Arc<dyn Bus>, queue: &str) -> Outcomes {
        let sub = bus
            .subscribe(
                queue,
                &[tsn_pipeline::SCHEDULE_FAILED, tsn_pipeline::DEPLOY_COMPLETED],
                ConsumerOptions::default(),
            )
            .await
            .expect("subscribe outcomes");
        Outcomes { sub, seen: BTreeMap::new() }
    }

    /// Receives until every id of `ids` has an outcome, or `limit` passes (then panics with
    /// what is missing).
    pub async fn wait_for(&mut self, ids: &[String], limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while !ids.iter().all(|id| self.seen.contains_key(id)) {
            let d = match tokio::time::timeout_at(deadline, self.sub.next()).await {
                Ok(Ok(d)) => d,
                Ok(Err(e)) => {
                    eprintln!("outcome queue: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(_) => {
                    let missing: Vec<&String> = ids.iter().filter(|id| !self.seen.contains_key(*id)).collect();
                    panic!("no outcome within {limit:?} for {missing:?}; seen: {:?}", self.seen.keys());
                }
            };
            let m = d.message().clone();
            let o: v1::RequestOutcome = decode(&m.kind, &m).expect("outcome body");
            self.seen.entry(m.request_id.clone()).or_default().push(o);
            let _ = d.ack().await;
        }
    }

    /// The first outcome of `id`.
    pub fn of(&self, id: &str) -> &v1::RequestOutcome {
        &self.seen[id][0]
    }

    /// Closes the subscription.
    pub async fn close(self) {
        self.sub.close().await;
    }
}

/// Checks an outcome: every `ids` stream READY with offsets and latencies.
pub fn assert_ready(o: &v1::RequestOutcome, ids: &[String]) {
    assert!(o.deployed, "not deployed: {}", o.detail);
    for id in ids {
        let s = o.streams.iter().find(|s| &s.stream_id == id).unwrap_or_else(|| panic!("{id} missing in {o:?}"));
        assert_eq!(s.status, v1::StreamStatus::Ready as i32, "{id}: {}", s.reason);
        assert!(!s.frame_offsets_ns.is_empty(), "{id} has no offsets");
        assert!(s.accumulated_latency_ns > 0, "{id} has no latency");
        assert_eq!(s.paths.len(), 1);
    }
}

/// Checks that the admitted state of a deployed outcome names each stream once.
pub fn assert_admitted_once(o: &v1::RequestOutcome) {
    let state = o.admitted_state.as_ref().expect("deployed outcome carries the admitted state");
    let mut ids: Vec<&str> = state.streams.iter().map(|s| s.id.as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a stream is admitted twice");
    assert_eq!(state.schedules.len(), n);
}

/// A child process killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Proc {
    /// The child.
    pub child: Child,
    /// Its name, for messages.
    pub name: String,
}

impl Proc {
    /// Starts `program` with `env`, its output appended to `log`.
    pub fn spawn(name: &str, program: &Path, args: &[&str], env: &[(String, String)], log: &Path) -> Proc {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        Proc { child, name: name.to_owned() }
    }

    /// SIGTERM, then wait (SIGKILL after 10 s).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL database created for one test and dropped (forcibly) on drop.
#[derive(Debug)]
pub struct PgDatabase {
    /// Its name.
    pub name: String,
}

/// The server the tests use.
pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn psql(sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl PgDatabase {
    /// Creates `tsn_itest_<pid>_<n>`.
    pub fn create() -> PgDatabase {
        let name = unique("tsn_itest_").replace('-', "_");
        psql(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        PgDatabase { name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// Runs `sql` in this database; the rows unaligned, one per line, fields separated by
    /// `|` (psql -At).
    pub fn query(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &self.name, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The topology preprocess holds in this database (its `preprocess_topology` table) and
    /// its version; None before it has one.
    pub fn preprocess_topology(&self) -> Option<(u64, Topology)> {
        let text = self.query("SELECT version, body FROM preprocess_topology WHERE id = 1").ok()?;
        let (version, body) = text.split_once('|')?;
        Some((version.parse().ok()?, serde_json::from_str(body).ok()?))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(e) = psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("dropping database {}: {e}", self.name);
        }
    }
}

/// The directory of the binaries built with this test or program (`target/<profile>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir");
    // Tests live in target/<profile>/deps, programs in target/<profile>.
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("profile dir").to_owned()
    } else {
        dir.to_owned()
    }
}

static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();

/// The packages whose binaries the tests start.
pub const SERVICE_PACKAGES: &[&str] =
    &["preprocess", "scheduler", "southbound", "uni-gateway", "topology", "node-agent"];

/// Whether cargo sets the environment variable `name` for a process it runs (a test, a
/// `cargo run` program) to describe that package and target.
///
/// A nested cargo must not inherit them: cargo hands its environment to build scripts, and
/// some declare `rerun-if-env-changed` on exactly these (ring: `CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, `CARGO_PKG_VERSION_*`, `OUT_DIR`). With the test package's values
/// they run again, and everything above them (rustls, russh, tonic, most of the workspace)
/// is rebuilt; the next outer `cargo test` then sees the values change back and rebuilds
/// it all once more. Measured: a 618 s nested "build" before the end-to-end test.
fn set_by_cargo_for_a_target(name: &str) -> bool {
    const PREFIXES: &[&str] =
        &["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_CFG_", "CARGO_FEATURE_"];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || matches!(name, "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "CARGO_RUSTC_CURRENT_DIR" | "OUT_DIR")
}

fn cargo_build(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root()).args(["build", "--quiet"]).args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_a_target) {
            cmd.env_remove(name);
        }
    }
    if bin_dir().file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    } else {
        cmd.args(["--profile", "test"]);
    }
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`cargo build {}` failed ({s})", args.join(" "))),
        Err(e) => Err(format!("running cargo build: {e}")),
    }
}

/// The service binary `name` (one of [`SERVICE_PACKAGES`]) from the target directory of
/// this test.
///
/// The first call in a test process runs `cargo build --workspace --bins --tests --profile
/// test` (`--release` for a release test), so that a test never runs a stale binary. That
/// is the unit set `cargo test --workspace` builds (same profile settings, same feature
/// resolution with dev-dependencies, same build-script outputs), so after it the build is a
/// no-op but for the binaries `cargo test` does not link, and on a cold machine HiGHS
/// (highs-sys) is not built once more, as it was by the `cargo build -p <svc>` used before
/// (features resolved for one package, no dev-dependencies: other build-script units).
///
/// When another package of the workspace does not compile (work in progress), only the
/// service packages' binaries are built, with one test target of this package so that
/// dev-dependencies still take part in feature resolution (the same build-script units
/// again, checked with `cargo +nightly build --unit-graph`).
pub fn service_binary(name: &str) -> PathBuf {
    let built = BUILT.get_or_init(|| {
        let started = Instant::now();
        let r = cargo_build(&["--workspace", "--bins", "--tests"]).or_else(|e| {
            eprintln!("{e}; building the service packages alone");
            let mut args = vec!["--bins", "--test", "processes"];
            for p in SERVICE_PACKAGES.iter().chain(&["tsn-itest"]) {
                args.extend(["-p", p]);
            }
            cargo_build(&args)
        });
        // A test's wall time includes this build (and any wait for another cargo's lock on
        // the target directory): say how long it took.
        eprintln!("service binaries built in {:.1} s", started.elapsed().as_secs_f64());
        r
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Waits until `GET http://addr/healthz` answers 200 (plain HTTP/1.0 over a socket).
pub async fn wait_healthy(addr: &str, limit: Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n").await;
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf).await;
            if buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200") {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// The local RabbitMQ.
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A test deployment on the real RabbitMQ and PostgreSQL: its own bus namespace, its own
/// database (shared by the services, each with its own tables), a scratch directory for
/// logs and dry-run configurations, and the service processes.
#[derive(Debug)]
pub struct Cluster {
    /// Prefix of every exchange and queue of this test.
    pub namespace: String,
    /// The database.
    pub db: PgDatabase,
    /// Scratch directory (logs, topology file, dry-run output).
    pub dir: PathBuf,
    /// Running processes by name.
    pub procs: Vec<Proc>,
    /// Whether preprocess starts with the static demo topology (`topology_file`); false
    /// when the topology service provides it.
    pub static_topology: bool,
}

impl Cluster {
    /// A fresh namespace, database and directory.
    pub fn new(tag: &str) -> Cluster {
        let namespace = format!("{}.", unique(&format!("itest-{tag}-")));
        let dir = std::env::temp_dir().join(unique(&format!("tsn-itest-{tag}-")));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("topology.json"), serde_json::to_string(&demo_topology()).expect("json"))
            .expect("topology file");
        Cluster { namespace, db: PgDatabase::create(), dir, procs: Vec::new(), static_topology: true }
    }

    /// The bus settings of this cluster as `TSN_<PREFIX>_BUS__*` variables.
    pub fn bus_env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (format!("{prefix}_BUS__URL"), AMQP_URL.into()),
            (format!("{prefix}_BUS__NAMESPACE"), self.namespace.clone()),
            (format!("{prefix}_BUS__QUEUE_EXPIRY_SECS"), "900".into()),
            (format!("{prefix}_OPS__LOG_LEVEL"), "info".into()),
        ]
    }

    /// The environment of service `service` (preprocess, scheduler, southbound) with its
    /// operations endpoint on `http`.
    pub fn env(&self, service: &str, http: &str) -> Vec<(String, String)> {
        let prefix = format!("TSN_{}", service.to_ascii_uppercase());
        let mut env = self.bus_env(&prefix);
        env.push((format!("{prefix}_OPS__HTTP_LISTEN"), http.to_owned()));
        match service {
            "preprocess" => {
                env.push((format!("{prefix}_DATABASE_URL"), self.db.url()));
                if self.static_topology {
                    env.push((format!("{prefix}_TOPOLOGY_FILE"), self.dir.join("topology.json").display().to_string()));
                }
            }
            "southbound" => {
                env.push((format!("{prefix}_DATABASE_URL"), self.db.url()));
                env.push((format!("{prefix}_CONFIGURATOR__KIND"), "dry-run".into()));
                env.push((format!("{prefix}_CONFIGURATOR__DIR"), self.dir.join("config").display().to_string()));
            }
            _ => {}
        }
        env
    }

    /// Starts `service` like [`Cluster::start`] and waits (60 s at most) until its `/healthz`
    /// answers; panics with every process log otherwise.
    pub async fn start_healthy(&mut self, service: &str, name: &str, extra: &[(String, String)]) -> String {
        let addr = self.start(service, name, extra);
        assert!(wait_healthy(&addr, Duration::from_secs(60)).await, "{name} not healthy\n{}", self.logs());
        addr
    }

    /// Starts preprocess, southbound and one scheduler (named as their services), healthy.
    pub async fn start_pipeline(&mut self) {
        for service in ["preprocess", "southbound", "scheduler"] {
            self.start_healthy(service, service, &[]).await;
        }
    }

    /// Starts `service` with `extra` environment; returns its operations address.
    pub fn start(&mut self, service: &str, name: &str, extra: &[(String, String)]) -> String {
        self.start_with_args(service, name, &[], extra)
    }

    /// [`Cluster::start`] with command-line arguments.
    pub fn start_with_args(&mut self, service: &str, name: &str, args: &[&str], extra: &[(String, String)]) -> String {
        let http = format!("127.0.0.1:{}", free_port());
        let mut env = self.env(service, &http);
        env.extend(extra.iter().cloned());
        self.spawn(service, name, args, &env);
        http
    }

    /// Starts binary `service` as process `name` with exactly `env` (its log in `dir`).
    pub fn spawn(&mut self, service: &str, name: &str, args: &[&str], env: &[(String, String)]) {
        let log = self.dir.join(format!("{name}.log"));
        self.procs.push(Proc::spawn(name, &service_binary(service), args, env, &log));
    }

    /// Runs `ip ARGS` (e.g. `netns exec NS program …`) as process `name`, its output in
    /// the log `dir/name.log`; killed with the cluster.
    pub fn spawn_ip(&mut self, name: &str, args: &[String]) {
        let log = self.dir.join(format!("{name}.log"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.procs.push(Proc::spawn(name, Path::new("ip"), &args, &[], &log));
    }

    /// Starts the uni-gateway binary as `name` on a free port, with its store in `db` and
    /// its bus in this cluster's namespace; waits until `/healthz` answers and returns its
    /// RESTCONF client.
    pub async fn start_gateway(&mut self, name: &str, db: &PgDatabase) -> restconf::Gateway {
        let listen = format!("127.0.0.1:{}", free_port());
        let url = db.url();
        let env: Vec<(String, String)> = [
            ("TSN_GW_LISTEN", listen.as_str()),
            ("TSN_GW_DATABASE_URL", url.as_str()),
            ("TSN_GW_AMQP_URL", AMQP_URL),
            ("TSN_GW_AMQP_NAMESPACE", self.namespace.as_str()),
            ("TSN_GW_AMQP_QUEUE_EXPIRY_SECS", "900"),
            ("TSN_GW_LOG", "info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        self.spawn("uni-gateway", name, &[], &env);
        assert!(wait_healthy(&listen, Duration::from_secs(60)).await, "{name} not healthy\n{}", self.logs());
        restconf::Gateway { base: format!("http://{listen}") }
    }

    /// The process called `name`.
    pub fn proc(&mut self, name: &str) -> &mut Proc {
        self.procs.iter_mut().find(|p| p.name == name).unwrap_or_else(|| panic!("no process {name}"))
    }

    /// A bus client in this cluster's namespace.
    pub async fn bus(&self) -> Arc<dyn Bus> {
        let mut c = tsn_bus::AmqpConfig::new(AMQP_URL);
        c.namespace = self.namespace.clone();
        c.queue_expiry = Some(Duration::from_secs(900));
        c.connection_name = "tsn-itest".into();
        Arc::new(tsn_bus::AmqpBus::connect(c).await.expect("RabbitMQ on 127.0.0.1:5672"))
    }

    /// The last lines of every log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in &self.procs {
            let text = std::fs::read_to_string(self.dir.join(format!("{}.log", p.name))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {} ---\n{}\n", p.name, lines[lines.len().saturating_sub(15)..].join("\n")));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.procs {
            p.kill();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("logs kept in {}", self.dir.display());
        }
    }
}

/// Binds the queues of preprocess and southbound in `bus` (so that nothing published
/// before the services subscribe is dropped).
pub async fn bind_service_queues(bus: &Arc<dyn Bus>) {
    let patterns = [
        tsn_pipeline::COMPUTE_REQUESTED,
        tsn_pipeline::TOPOLOGY_CHANGED,
        tsn_pipeline::SCHEDULE_FAILED,
        tsn_pipeline::DEPLOY_COMPLETED,
        tsn_pipeline::DEPLOY_STALE,
    ];
    bus.subscribe("preprocess.events", &patterns, ConsumerOptions::default()).await.expect("bind").close().await;
    bus.subscribe("southbound.solved", &[tsn_pipeline::SCHEDULE_SOLVED], ConsumerOptions::default())
        .await
        .expect("bind")
        .close()
        .await;
}

/// Publishes a compute request as the gateway would; returns its request id.
pub async fn submit(bus: &Arc<dyn Bus>, streams: Vec<v1::StreamRequest>, remove: Vec<String>) -> String {
    let id = unique("req-");
    let body = v1::ComputeRequest { domain_id: "d".into(), cuc_id: "cuc".into(), streams, remove };
    bus.publish(tsn_pipeline::COMPUTE_REQUESTED, &tsn_pipeline::encode(tsn_pipeline::COMPUTE_REQUESTED, &id, 0, &body))
        .await
        .expect("publish compute request");
    id
}

/// Receives `n` `schedule.solved` messages from `sub` and checks each schedule with
/// tsn-check against its own problem; returns them.
pub async fn verified_solutions(sub: &mut Subscription, n: usize, limit: Duration) -> Vec<v1::SolvedJob> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while out.len() < n {
        let d = match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Ok(d)) => d,
            Ok(Err(_)) => continue,
            Err(_) => panic!("only {} of {n} solutions within {limit:?}", out.len()),
        };
        let solved: v1::SolvedJob = decode(tsn_pipeline::SCHEDULE_SOLVED, d.message()).expect("solved body");
        let problem = tsn_pipeline::model::problem_from_pb(
            "t",
            solved.job.as_ref().and_then(|j| j.problem.as_ref()).expect("problem"),
        )
        .expect("problem");
        let schedule =
            tsn_pipeline::model::schedule_from_pb("t", solved.schedule.as_ref().expect("schedule")).expect("schedule");
        let verdict = tsn_check::verify(&problem, &schedule);
        assert!(verdict.is_ok(), "a solved schedule fails tsn-check: {verdict}");
        let _ = d.ack().await;
        out.push(solved);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::set_by_cargo_for_a_target;

    #[test]
    fn a_nested_cargo_keeps_the_users_settings_and_drops_the_test_packages_identity() {
        for name in
            ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_PKG_VERSION_MAJOR", "OUT_DIR", "CARGO_BIN_EXE_tsnctl"]
        {
            assert!(set_by_cargo_for_a_target(name), "{name}");
        }
        for name in ["CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_INCREMENTAL", "CARGO_TERM_COLOR", "PATH"] {
            assert!(!set_by_cargo_for_a_target(name), "{name}");
        }
    }
}
