//! `moto_server` (the AWS emulator) for tests: started on a free port of 127.0.0.1, filled by
//! `aws_setup.py` (boto3), killed when dropped. Found through `MOTO_SERVER` or `PATH`
//! (`.ci/moto-env` installs it); when missing, tests skip with a message unless
//! `SPECTRA_REQUIRE_MOTO=1` (set by CI), where they fail.

#![allow(dead_code)] // each test binary uses a different part

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto_server child process on a free port of 127.0.0.1, killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:port`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Starts moto_server, or returns `None` (after saying so) when it is not installed and not
/// required.
pub fn start_moto() -> Option<Moto> {
    start_moto_with(&[])
}

/// [`start_moto`] with extra environment variables for the server.
pub fn start_moto_with(env: &[(&str, &str)]) -> Option<Moto> {
    let server = std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| find_on_path("moto_server"));
    let Some(server) = server else {
        if std::env::var("SPECTRA_REQUIRE_MOTO").as_deref() == Ok("1") {
            panic!("moto_server not found (SPECTRA_REQUIRE_MOTO=1): source .ci/moto-env or set MOTO_SERVER");
        }
        eprintln!("skipped: moto_server not found (set MOTO_SERVER or source .ci/moto-env)");
        return None;
    };
    // A free port: bind :0, read the port, release it for moto.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("moto_server exited before accepting connections: {status}");
        }
        assert!(Instant::now() < deadline, "moto_server did not accept connections within 60 s");
        // Polling interval while moto starts, not a synchronisation guess: readiness is the
        // successful connect above.
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Moto { child, url: format!("http://{addr}") })
}

/// Runs aws_setup.py against `url` (with `args`); returns what it printed.
pub fn setup(url: &str, args: &[&str]) -> serde_json::Value {
    let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
    // Found from spectra-sources' own tests and from the facade's, which include this file.
    let script = [
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aws_setup.py"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/spectra-sources/tests/aws_setup.py"),
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).is_file())
    .expect("aws_setup.py");
    let out =
        Command::new(&python).arg(script).arg(url).args(args).output().unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(out.status.success(), "aws_setup.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}
