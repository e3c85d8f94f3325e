//! CPU time of a process (user + system), from `/proc/PID/stat`.

use std::time::Duration;

/// `utime + stime` of process `pid` (`"self"` for this one), all its threads included.
pub fn cpu_time(pid: &str, ticks_per_s: u64) -> Result<Duration, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from the last
    // ')'. After it come field 3 (state), ..., field 14 (utime), field 15 (stime).
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or("no ')' in stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("{path}: field {n} missing"))
    };
    let ticks = field(14)? + field(15)?;
    Ok(Duration::from_micros(ticks * 1_000_000 / ticks_per_s.max(1)))
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be asked.
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_cpu_time_is_readable() {
        assert!(cpu_time("self", ticks_per_second()).is_ok());
    }
}
