//! Service configuration files (tsn-service): arbitrary TOML text and environment values
//! give a configuration or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
#[allow(dead_code)]
struct Config {
    bus: tsn_service::BusSettings,
    ops: tsn_service::CommonSettings,
    database_url: String,
    limit: f64,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (file, value) = text.split_once('\n').unwrap_or((text, ""));
    let path = std::env::temp_dir().join(format!("tsn-fuzz-config-{}.toml", std::process::id()));
    if std::fs::write(&path, file).is_err() {
        return;
    }
    let env = vec![("F_BUS__URL".to_owned(), value.to_owned()), ("F_LIMIT".to_owned(), value.to_owned())];
    let _ = tsn_service::config::load_from::<Config>(Some(&path), "F", env);
});
