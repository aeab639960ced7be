# bench/lib.sh — helpers the bench scripts share (sourced, not run).

# free_port: a TCP port free on 127.0.0.1 now
free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# cpu_ticks PID: user + system clock ticks of all its threads so far
# (getconf CLK_TCK of them a second)
cpu_ticks() { cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
