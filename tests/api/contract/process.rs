//! Real processes for the fault tests: the `cadenza` binary as a child process (to be
//! killed, stopped, signalled), and a private PostgreSQL cluster (to be stopped
//! with `pg_ctl -m immediate`, or frozen with SIGSTOP).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TestEnv, require_env};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped (a failing test leaves nothing running).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Send a signal (`TERM`, `KILL`, `STOP`, `CONT`) to a process: bash's own `kill`, so
/// nothing beyond bash (which the test script runs in) is needed.
fn send_signal(pid: u32, sig: &str) -> bool {
    Command::new("bash")
        .args(["-c", &format!("kill -{sig} {pid}")])
        .status()
        .is_ok_and(|s| s.success())
}

pub fn signal(pid: u32, sig: &str) {
    assert!(send_signal(pid, sig), "kill -{sig} {pid}");
}

/// A `cadenza` process on the test environment's configuration and its own port.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    /// Start `cadenza <args>` (`serve`, or `worker`) with `env`'s configuration file and
    /// the extra `CADENZA__…` variables; for `serve`, wait until `/livez` answers.
    pub async fn start(env: &TestEnv, args: &[&str], vars: &[(&str, String)]) -> Server {
        let port = free_port();
        let log = env
            .dir
            .path()
            .join(format!("cadenza-{}-{port}.log", args[0]));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cadenza"));
        cmd.arg("--config")
            .arg(&env.config_path)
            .args(args)
            .env("CADENZA__SERVER__PORT", port.to_string())
            .env("CADENZA__LOG__LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(out);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start cadenza");
        let server = Server {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        if args[0] == "serve" {
            server.wait_live().await;
        }
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    async fn wait_live(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/livez", self.url)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cadenza did not start:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "KILL");
            let _ = c.wait();
        }
    }

    /// Wait up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A private PostgreSQL cluster the test owns: initialised in a temp folder, started on
/// a free port, stopped (immediately) when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    home: tempfile::TempDir,
    pub port: u16,
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// As the `postgres` user when we are root (the server refuses to run as root).
fn as_pg(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Cluster {
    /// None (skipped outside CI) when the test script did not say where PostgreSQL's
    /// programs are (`CADENZA_TEST_PG_BIN`).
    pub fn start() -> Option<Cluster> {
        let bin = PathBuf::from(require_env("CADENZA_TEST_PG_BIN")?);
        let home = tempfile::Builder::new()
            .prefix("cadenza-pg-")
            .tempdir()
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let data = home.path().join("data");
        let out = as_pg(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster {
            bin,
            data,
            port: free_port(),
            home,
        };
        cluster.start_again();
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Start (or restart) the server and wait until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            self.port,
            self.home.path().display()
        );
        let out = as_pg(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.home.path().join("server.log"))
            .args(["-w", "-o", &opts, "start"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.home.path().join("server.log")).unwrap_or_default()
        );
    }

    /// `pg_ctl -m immediate stop`: every server process quits at once, as in a crash.
    pub fn stop_immediate(&self) {
        let _ = as_pg(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }

    /// The postmaster and every process it started (children found through `/proc`).
    fn processes(&self) -> Vec<u32> {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid")).unwrap();
        let main: u32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
        let parent_of = |pid: u32| -> Option<u32> {
            // `pid (comm) state ppid …`; the command may hold spaces, so split after `)`.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        let mut pids = vec![main];
        pids.extend(
            std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| parent_of(*pid) == Some(main)),
        );
        pids
    }

    /// Freeze (`STOP`) or thaw (`CONT`) every process of the cluster.
    pub fn signal_all(&self, sig: &str) {
        for pid in self.processes() {
            send_signal(pid, sig);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            self.signal_all("CONT");
        }
        self.stop_immediate();
    }
}
