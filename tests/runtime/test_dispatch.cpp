// Kernel test of the dispatch layer: an empty slot drops, activating a program switches
// every dispatcher at once, the pinned layer is adopted by a second opener and keeps its
// slot after the first one is gone, and cgroup links pin and unpin. Skips without root /
// bpf() unless MOAT_REQUIRE_KERNEL=1.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "runtime/agent/dispatch.h"

using namespace moat::runtime;
using namespace moat::runtime::agent;

namespace {

bool kernel_or_skip() {
  std::string why;
  if (geteuid() == 0 && kernel_bpf_available(why)) return true;
  const char* req = std::getenv("MOAT_REQUIRE_KERNEL");
  if (req && std::string(req) == "1") FAIL("kernel required but unavailable: " << why);
  WARN("SKIP: needs root and bpf(): " << why);
  return false;
}

/// A sched_cls / cgroup_skb program that returns `ret`.
int constant_program(bpf_prog_type type, int ret, bpf_attach_type expected = BPF_CGROUP_INET_INGRESS) {
  bpf_insn insns[2];
  std::memset(insns, 0, sizeof insns);
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = ret;
  insns[1].code = BPF_JMP | BPF_EXIT;
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  if (type == BPF_PROG_TYPE_CGROUP_SKB) opts.expected_attach_type = expected;
  return bpf_prog_load(type, "moat_test_const", "Dual BSD/GPL", insns, 2, &opts);
}

/// Runs one Ethernet + IPv4 + UDP frame through `prog_fd`; returns its retval.
uint32_t run(int prog_fd, bool with_eth = true) {
  uint8_t pkt[64] = {};
  size_t off = 0;
  if (with_eth) {
    pkt[12] = 0x08;  // ethertype IPv4
    off = 14;
  }
  pkt[off] = 0x45;
  pkt[off + 3] = 28;
  pkt[off + 8] = 64;
  pkt[off + 9] = 17;
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof pkt, .repeat = 1);
  REQUIRE(bpf_prog_test_run_opts(prog_fd, &o) == 0);
  return o.retval;
}

std::string unique_pin_dir() { return "/sys/fs/bpf/moat-test-dispatch-" + std::to_string(getpid()); }

} // namespace

TEST_CASE("dispatchers drop on an empty slot and follow the active program") {
  if (!kernel_or_skip()) return;
  std::string pin = unique_pin_dir();
  std::string err;
  bool adopted = true;
  {
    auto d = Dispatch::open(pin, adopted, err);
    REQUIRE(d);
    CHECK_FALSE(adopted);
    int disp = bpf_obj_get((pin + "/dispatch/prog_tc_egress").c_str());
    REQUIRE(disp >= 0);
    CHECK(run(disp) == TC_ACT_SHOT);  // fail closed

    int pass = constant_program(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
    int drop = constant_program(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_SHOT);
    REQUIRE(pass >= 0);
    REQUIRE(drop >= 0);
    REQUIRE(d->activate(Program::TcEgress, pass, err));
    CHECK(run(disp) == TC_ACT_OK);
    CHECK(d->active_id(Program::TcEgress) != 0);
    REQUIRE(d->activate(Program::TcEgress, drop, err));
    CHECK(run(disp) == TC_ACT_SHOT);
    REQUIRE(d->activate(Program::TcEgress, pass, err));
    close(pass);
    close(drop);
    close(disp);
    // A cgroup program cannot enter a tc slot: the kernel checks the program type.
    int cg = constant_program(BPF_PROG_TYPE_CGROUP_SKB, 1);
    REQUIRE(cg >= 0);
    CHECK_FALSE(d->activate(Program::TcEgress, cg, err));
    int cg_disp = bpf_obj_get((pin + "/dispatch/prog_cg_ingress").c_str());
    CHECK(run(cg_disp, false) == 0);  // empty cgroup slot: drop
    REQUIRE(d->activate(Program::CgroupIngress, cg, err));
    CHECK(run(cg_disp, false) == 1);
    close(cg);
    close(cg_disp);
  }
  {
    // The first opener is gone; the pinned layer (and its active programs) remain.
    auto d = Dispatch::open(pin, adopted, err);
    REQUIRE(d);
    CHECK(adopted);
    int disp = bpf_obj_get((pin + "/dispatch/prog_tc_egress").c_str());
    CHECK(run(disp) == TC_ACT_OK);
    d->clear();
    CHECK(run(disp) == TC_ACT_SHOT);
    close(disp);
  }
  remove_tree(pin);
  struct stat st;
  CHECK(stat(pin.c_str(), &st) != 0);
}

TEST_CASE("cgroup dispatchers attach through pinned links and detach cleanly") {
  if (!kernel_or_skip()) return;
  std::string root;
  {
    std::ifstream mounts("/proc/mounts");
    std::string dev, mnt, type, rest;
    while (mounts >> dev >> mnt >> type && std::getline(mounts, rest))
      if (type == "cgroup2") {
        root = mnt;
        break;
      }
  }
  if (root.empty()) {
    WARN("SKIP: no cgroup v2 mount");
    return;
  }
  std::string cg = root + "/moat-test-dispatch-" + std::to_string(getpid());
  REQUIRE(mkdir(cg.c_str(), 0755) == 0);
  std::string pin = unique_pin_dir() + "-cg";
  std::string err;
  bool adopted;
  {
    auto d = Dispatch::open(pin, adopted, err);
    REQUIRE(d);
    uint64_t id = cgroup_id_of(cg);
    REQUIRE(id != 0);
    CHECK_FALSE(d->cgroup_attached(id));
    REQUIRE(d->attach_cgroup(cg, err));
    CHECK(d->cgroup_attached(id));
    REQUIRE(d->attach_cgroup(cg, err));  // idempotent
    CHECK(d->attached_cgroups() == std::vector<uint64_t>{id});
    REQUIRE(d->detach_cgroup(id, err));
    CHECK_FALSE(d->cgroup_attached(id));
    CHECK(d->attached_cgroups().empty());
  }
  remove_tree(pin);
  rmdir(cg.c_str());
}
