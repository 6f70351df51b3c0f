//! Small inline tsnkit fixtures shared by the tests.
#![allow(dead_code)]

/// Two bridges (0, 1) in a line; end stations 2 on bridge 0 and 3, 4 on bridge 1.
pub const TOPO: &str = "link,q_num,rate,t_proc,t_prop
\"(0, 1)\",8,1,2000,0
\"(1, 0)\",8,1,2000,0
\"(0, 2)\",8,1,2000,0
\"(2, 0)\",8,1,2000,0
\"(1, 3)\",8,1,2000,0
\"(3, 1)\",8,1,2000,0
\"(1, 4)\",4,0.1,1000,50
\"(4, 1)\",4,0.1,1000,50
";

/// Three streams: 2→3, 3→2 and a multicast 2→{3, 4}.
pub const TASK: &str = "stream,src,dst,size,period,deadline,jitter
0,2,[3],200,500000,500000,500000
1,3,[2],100,1000000,1000000,1000000
2,2,\"[3, 4]\",500,1000000,800000,1000
";

/// Routes of streams 0 and 2 (stream 1 left to the scheduler).
pub const ROUTES: &str = "stream,route
0,\"[(2, 0), (0, 1), (1, 3)]\"
2,\"[(2, 0), (0, 1), (1, 4)]\"
2,\"[(2, 0), (0, 1), (1, 3)]\"
";
