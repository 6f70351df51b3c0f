//! RESTCONF UNI of the CNC (802.1Qdj cnc-config).
//!
//! This service is not implemented yet; see the open issues. It exits with status 1 so that
//! nothing mistakes it for a working deployment.

fn main() {
    eprintln!("uni-gateway: not implemented yet (tsn-cp currently ships the scheduling core: see `tsnctl schedule`)");
    std::process::exit(1);
}
