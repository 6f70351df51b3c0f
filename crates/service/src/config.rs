//! Typed configuration: a TOML file (optional) overlaid with environment variables.
//!
//! `PREFIX_KEY=value` sets `key`; `__` separates nested keys, so
//! `TSN_SCHEDULER_BUS__URL=amqp://…` sets `bus.url`. A value is read as a TOML literal when
//! it is one (`8`, `true`, `[1, 2]`, `"quoted"`), otherwise as a string; quote it to force a
//! string (`TSN_X_NAMESPACE='"123"'`).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("configuration file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// An environment variable names a key that cannot be set (e.g. below a non-table).
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// The merged configuration does not match the service's settings.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `T` from `path` (when given) and the process environment's `{prefix}_*` variables.
pub fn load<T: DeserializeOwned>(path: Option<&Path>, prefix: &str) -> Result<T, ConfigError> {
    load_from(path, prefix, std::env::vars())
}

/// [`load`] with an explicit environment (for tests).
pub fn load_from<T: DeserializeOwned>(
    path: Option<&Path>,
    prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.to_owned(), source })?,
        None => String::new(),
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.map(Path::to_owned).unwrap_or_default(),
        message: e.to_string(),
    })?;
    let prefix = format!("{prefix}_");
    let mut vars: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
    vars.sort();
    for (var, value) in vars {
        let keys: Vec<String> = var[prefix.len()..].split("__").map(|k| k.to_ascii_lowercase()).collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::Env { var, reason: "empty key".into() });
        }
        set(&mut table, &keys, parse_value(&value)).map_err(|reason| ConfigError::Env { var: var.clone(), reason })?;
    }
    T::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid(e.to_string()))
}

fn parse_value(raw: &str) -> toml::Value {
    #[derive(Deserialize)]
    struct Probe {
        v: toml::Value,
    }
    match toml::from_str::<Probe>(&format!("v = {raw}")) {
        Ok(p) => p.v,
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("no key")?;
    let mut here = table;
    for k in parents {
        let entry = here.entry(k.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = entry.as_table_mut().ok_or_else(|| format!("`{k}` is not a table"))?;
    }
    here.insert(last.clone(), value);
    Ok(())
}

/// [`load`], or print the error and exit with status 78 (`EX_CONFIG`): a service must not
/// start half-configured.
pub fn load_or_exit<T: DeserializeOwned>(service: &str, path: Option<&Path>, prefix: &str) -> T {
    match load(path, prefix) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{service}: {e}");
            std::process::exit(78);
        }
    }
}

/// The command line every service binary accepts: `[--config FILE]`, plus the flags the
/// service names in `flags` (returned when present). Anything else exits with status 64.
pub fn args_or_exit(service: &str, flags: &[&str]) -> (Option<PathBuf>, Vec<String>) {
    let mut args = std::env::args().skip(1);
    let mut config = None;
    let mut found = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => config = Some(PathBuf::from(p)),
                None => usage_exit(service, flags, "--config needs a file"),
            },
            "--help" | "-h" => {
                println!(
                    "usage: {service} [--config FILE.toml]{}",
                    flags.iter().map(|f| format!(" [{f}]")).collect::<String>()
                );
                println!("settings come from the file and from environment variables (see docs/pipeline.md)");
                std::process::exit(0);
            }
            f if flags.contains(&f) => found.push(f.to_owned()),
            other => usage_exit(service, flags, &format!("unknown argument {other:?}")),
        }
    }
    (config, found)
}

fn usage_exit(service: &str, flags: &[&str], why: &str) -> ! {
    eprintln!("{service}: {why}");
    eprintln!("usage: {service} [--config FILE.toml]{}", flags.iter().map(|f| format!(" [{f}]")).collect::<String>());
    std::process::exit(64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        url: String,
        attempts: u32,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Cfg {
        name: String,
        verbose: bool,
        bus: Inner,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("tsn-service-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "name = \"a\"\n[bus]\nurl = \"amqp://x\"\nattempts = 2\n").unwrap();
        let c: Cfg = load_from(
            Some(&file),
            "TSN_T",
            env(&[("TSN_T_BUS__ATTEMPTS", "7"), ("TSN_T_VERBOSE", "true"), ("OTHER_NAME", "z")]),
        )
        .unwrap();
        assert_eq!(c, Cfg { name: "a".into(), verbose: true, bus: Inner { url: "amqp://x".into(), attempts: 7 } });
        let c: Cfg = load_from(None, "TSN_T", env(&[("TSN_T_BUS__URL", "amqp://guest@h:5672/%2f")])).unwrap();
        assert_eq!(c.bus.url, "amqp://guest@h:5672/%2f");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_configuration_is_explained() {
        let e = load_from::<Cfg>(None, "TSN_T", env(&[("TSN_T_COLOUR", "red")])).unwrap_err().to_string();
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = load_from::<Cfg>(None, "TSN_T", env(&[("TSN_T_BUS__ATTEMPTS", "many")])).unwrap_err().to_string();
        assert!(e.contains("invalid"), "{e}");
        let e = load_from::<Cfg>(None, "TSN_T", env(&[("TSN_T_NAME__X", "1"), ("TSN_T_NAME", "1")])).unwrap_err();
        assert!(e.to_string().contains("not a table"), "{e}");
        let e = load_from::<Cfg>(Some(Path::new("/nonexistent/x.toml")), "TSN_T", env(&[])).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.toml"), "{e}");
    }

    proptest! {
        /// Arbitrary files and values give a config or an error, never a panic.
        #[test]
        fn arbitrary_input_never_panics(text in ".{0,200}", value in ".{0,40}") {
            let dir = std::env::temp_dir().join(format!("tsn-service-prop-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("p.toml");
            std::fs::write(&file, &text).unwrap();
            let _ = load_from::<Cfg>(Some(&file), "P", env(&[("P_BUS__URL", &value), ("P_NAME", &value)]));
        }
    }
}
