//! LLDP topology discovery over SSH.
//!
//! This service is not implemented yet; see the open issues. It exits with status 1 so that
//! nothing mistakes it for a working deployment.

fn main() {
    eprintln!("topology: not implemented yet (tsn-cp currently ships the scheduling core: see `tsnctl schedule`)");
    std::process::exit(1);
}
