//! Arbitrary bytes as a routes file for a small fixed instance.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOPO: &str = "link,q_num,rate,t_proc,t_prop\n\"(0, 1)\",8,1,2000,0\n\"(1, 0)\",8,1,2000,0\n\
\"(0, 2)\",8,1,2000,0\n\"(2, 0)\",8,1,2000,0\n\"(1, 3)\",8,1,2000,0\n\"(3, 1)\",8,1,2000,0\n\
\"(1, 4)\",8,1,2000,0\n\"(4, 1)\",8,1,2000,0\n";
const TASK: &str = "stream,src,dst,size,period,deadline,jitter\n0,2,[3],200,500000,500000,500000\n\
1,2,\"[3, 4]\",200,500000,500000,500000\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(mut problem) = tsn_formats::tsnkit::read_instance(TASK, TOPO) else { return };
    if let Ok(routes) = tsn_formats::tsnkit::read_routes(&text, &problem) {
        problem.routes = routes;
        // Accepted routes always make a valid problem.
        problem.validate().expect("routes accepted by read_routes validate");
    }
});
