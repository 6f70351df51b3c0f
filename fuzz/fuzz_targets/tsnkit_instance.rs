//! Arbitrary bytes, split at the first NUL into a task file and a topology file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOPO: &str = "link,q_num,rate,t_proc,t_prop\n\"(0, 1)\",8,1,2000,0\n\"(1, 0)\",8,1,2000,0\n\
\"(0, 2)\",8,1,2000,0\n\"(2, 0)\",8,1,2000,0\n\"(1, 3)\",8,1,2000,0\n\"(3, 1)\",8,1,2000,0\n";
const TASK: &str = "stream,src,dst,size,period,deadline,jitter\n0,2,[3],200,500000,500000,500000\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = tsn_formats::tsnkit::read_instance(&text, TOPO);
    let _ = tsn_formats::tsnkit::read_instance(TASK, &text);
    if let Some((task, topo)) = text.split_once('\0') {
        if let Ok(p) = tsn_formats::tsnkit::read_instance(task, topo) {
            let json = tsn_formats::json::write_problem(&p);
            assert_eq!(tsn_formats::json::read_problem(&json).as_ref(), Ok(&p));
        }
    }
});
