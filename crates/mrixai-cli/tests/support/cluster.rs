//! A one-node SLURM cluster for tests: munged, slurmctld and slurmd from Debian's packages,
//! started as children of the test with a generated `slurm.conf` in a scratch folder, and
//! stopped by their PIDs when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running cluster.
pub struct Cluster {
    /// `slurm.conf`, for `SLURM_CONF`.
    pub conf: PathBuf,
    dir: PathBuf,
    daemons: Vec<Child>,
}

fn found(program: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).is_file())
}

fn short_hostname() -> Result<String, String> {
    let out = Command::new("hostname")
        .arg("-s")
        .output()
        .map_err(|e| format!("hostname: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Cluster {
    /// Starts the daemons in `dir` (created); `Err` says why a cluster cannot run here.
    pub fn start(dir: &Path) -> Result<Cluster, String> {
        for p in [
            "munged",
            "mungekey",
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "sinfo",
        ] {
            if !found(p) {
                return Err(format!(
                    "`{p}` is not installed (Debian: slurmctld slurmd slurm-client munge)"
                ));
            }
        }
        let _ = std::fs::remove_dir_all(dir);
        for sub in ["state", "spool", "log", "munge"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
        }
        let key = dir.join("munge.key");
        run_ok(Command::new("mungekey").arg("-c").arg("-k").arg(&key))?;
        let socket = dir.join("munge/munge.socket");
        let mut cluster = Cluster {
            conf: dir.join("slurm.conf"),
            dir: dir.to_path_buf(),
            daemons: Vec::new(),
        };
        cluster.spawn(
            Command::new("munged")
                .args(["-F", "-f"])
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
                .arg(format!(
                    "--log-file={}",
                    dir.join("log/munged.log").display()
                ))
                .arg(format!("--seed-file={}", dir.join("munged.seed").display())),
        )?;
        wait_for(Duration::from_secs(10), || socket.exists())
            .map_err(|_| "munged did not create its socket".to_string())?;
        std::fs::write(&cluster.conf, cluster.config(&socket)?).map_err(|e| e.to_string())?;
        let conf = cluster.conf.clone();
        cluster.spawn(
            Command::new("slurmctld")
                .args(["-D", "-i", "-f"])
                .arg(&conf),
        )?;
        cluster.spawn(Command::new("slurmd").args(["-D", "-f"]).arg(&conf))?;
        let idle = wait_for(Duration::from_secs(40), || {
            cluster
                .query("sinfo", &["-h", "-o", "%T"])
                .is_ok_and(|s| s.trim() == "idle")
        });
        if idle.is_err() {
            let log = std::fs::read_to_string(dir.join("log/slurmctld.log")).unwrap_or_default();
            return Err(format!(
                "the node did not become idle; slurmctld log ends:\n{}",
                tail(&log)
            ));
        }
        Ok(cluster)
    }

    fn config(&self, socket: &Path) -> Result<String, String> {
        let host = short_hostname()?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let port = 20000 + (std::process::id() % 20000) as u16 * 2;
        let d = self.dir.display();
        Ok(format!(
            "ClusterName=mrixaitest\nSlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={port}\n\
             SlurmdPort={}\nSlurmUser=root\nAuthType=auth/munge\nCredType=cred/munge\n\
             AuthInfo=socket={}\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\nMpiDefault=none\nReturnToService=2\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            port + 1,
            socket.display()
        ))
    }

    fn spawn(&mut self, cmd: &mut Command) -> Result<(), String> {
        let child = cmd
            .env("SLURM_CONF", &self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{cmd:?}: {e}"))?;
        self.daemons.push(child);
        Ok(())
    }

    /// Runs a SLURM client command against this cluster and returns its stdout.
    pub fn query(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(program)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Waits until no job is left, or only jobs pending on a dependency that can never be
    /// satisfied; returns the latter as `id reason` lines.
    pub fn settle(&self, timeout: Duration) -> Vec<String> {
        let mut left = Vec::new();
        let done = wait_for(timeout, || {
            let Ok(q) = self.query("squeue", &["-h", "-o", "%i %T %r"]) else {
                return false;
            };
            left = q.lines().map(str::to_string).collect();
            left.iter().all(|l| l.contains("DependencyNeverSatisfied"))
        });
        assert!(
            done.is_ok(),
            "jobs still running after {timeout:?}: {left:?}"
        );
        left
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
        }
        for c in &mut self.daemons {
            if wait_for(Duration::from_secs(10), || {
                matches!(c.try_wait(), Ok(Some(_)))
            })
            .is_err()
            {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Polls `ready` every 200 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<(), ()> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if ready() { Ok(()) } else { Err(()) }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
