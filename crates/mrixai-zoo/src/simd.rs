//! The instruction path of the CPU kernels, chosen at run time.
//!
//! Every path computes the same operations in the same order (see the matrix products of
//! the kernels), so the choice changes speed only, never a bit of a result. The best path the
//! CPU has is used unless the environment variable [`Path::ENV`] names a lower one.

use mrixai_core::{Error, Result};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// A CPU instruction path, from the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Path {
    /// Plain Rust with `f32::mul_add`: any CPU. Slow: built without a target feature, each
    /// `mul_add` is a call to the C library's `fmaf`.
    Portable,
    /// x86-64 AVX2 + FMA.
    Avx2,
    /// x86-64 AVX-512F (+ FMA).
    Avx512,
}

/// The path in use (`u8::MAX` until first asked for).
static CURRENT: AtomicU8 = AtomicU8::new(u8::MAX);

impl Path {
    /// The environment variable that forces a lower path: `avx512`, `avx2` or `portable`.
    pub const ENV: &'static str = "MRIXAI_SIMD";
    const ALL: [Path; 3] = [Path::Portable, Path::Avx2, Path::Avx512];

    /// The best path this CPU has.
    pub fn detected() -> Path {
        #[cfg(target_arch = "x86_64")]
        {
            let fma = std::arch::is_x86_feature_detected!("fma");
            if fma && std::arch::is_x86_feature_detected!("avx512f") {
                return Path::Avx512;
            }
            if fma && std::arch::is_x86_feature_detected!("avx2") {
                return Path::Avx2;
            }
        }
        Path::Portable
    }

    /// The paths this CPU can run, from the lowest.
    pub fn available() -> Vec<Path> {
        let best = Path::detected();
        Path::ALL.into_iter().filter(|p| *p <= best).collect()
    }

    /// The path [`Path::ENV`] asks for, or the detected one when it is unset; an error names
    /// the variable when its value is unknown or above what this CPU has.
    pub fn from_env() -> Result<Path> {
        let best = Path::detected();
        let raw = match std::env::var(Path::ENV) {
            Ok(raw) => raw,
            Err(std::env::VarError::NotPresent) => return Ok(best),
            Err(e) => {
                return Err(Error::invalid(format!(
                    "environment variable {}: {e}",
                    Path::ENV
                )));
            }
        };
        let path: Path = raw.parse().map_err(|e: Error| {
            Error::invalid(format!("environment variable {}: {e}", Path::ENV))
        })?;
        if path > best {
            return Err(Error::invalid(format!(
                "environment variable {}={path}: this CPU's best instruction path is {best}",
                Path::ENV
            )));
        }
        Ok(path)
    }

    /// The path the kernels use: [`Path::from_env`] on first use.
    ///
    /// # Panics
    /// When [`Path::ENV`] is invalid; programs call [`Path::from_env`] first to report it.
    pub fn current() -> Path {
        match CURRENT.load(Ordering::Relaxed) {
            u8::MAX => {
                let path = Path::from_env().unwrap_or_else(|e| panic!("{e}"));
                CURRENT.store(path as u8, Ordering::Relaxed);
                path
            }
            i => Path::ALL[i as usize],
        }
    }

    /// Runs `f` with the kernels on `path` (which this CPU must have), then restores the
    /// previous path. The setting is process-wide; as every path gives the same bytes, work
    /// running meanwhile on other threads is slower or faster, never different.
    pub fn with<R>(path: Path, f: impl FnOnce() -> R) -> R {
        /// Puts the previous path back, also when `f` panics.
        struct Restore(Path);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.store(self.0 as u8, Ordering::Relaxed);
            }
        }
        assert!(path <= Path::detected(), "this CPU has no {path} path");
        let _restore = Restore(Path::current());
        CURRENT.store(path as u8, Ordering::Relaxed);
        f()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Path::Portable => "portable",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        })
    }
}

impl FromStr for Path {
    type Err = Error;
    fn from_str(s: &str) -> Result<Path> {
        Path::ALL
            .into_iter()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown instruction path '{s}' (expected avx512, avx2 or portable)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_rejected() {
        for p in Path::ALL {
            assert_eq!(p.to_string().parse::<Path>().unwrap(), p);
        }
        let err = "sse4".parse::<Path>().unwrap_err().to_string();
        assert!(err.contains("sse4") && err.contains("avx2"), "{err}");
        assert!(Path::available().contains(&Path::Portable));
    }
}
