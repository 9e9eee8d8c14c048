// jemalloc's options for the `moat` binary (read by jemalloc when it starts, before main):
// transparent huge pages for its heap. A cluster-scale run builds half a gigabyte of IR in
// small objects; with 4 KiB pages a fifth of `moat check`'s CPU went to page faults and TLB
// misses (docs/BENCHMARKS.md, Cluster scale). The agent, a long-running daemon next to the
// workloads, turns huge pages off for itself (cmd_agent.cpp). Without jemalloc (sanitizer
// builds) this symbol is unused.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
