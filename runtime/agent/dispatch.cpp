// Dispatchers: hand-assembled BPF (ld_imm64 map, mov, tail_call, mov, exit) — there is no
// policy in them, so nothing to compile; the policy programs come from the bundle.
#include "runtime/agent/dispatch.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

namespace moat::runtime::agent {

namespace {

constexpr long kBpffsMagic = 0xcafe4a11;

/// Interfaces without a clsact qdisc make libbpf log a kernel error for every query; a
/// missing qdisc just means "not attached", so queries run with libbpf's output off.
struct QuietLibbpf {
  libbpf_print_fn_t old = libbpf_set_print(nullptr);
  ~QuietLibbpf() { libbpf_set_print(old); }
};

size_t index_of(Program p) { return static_cast<size_t>(p); }
bool is_tc(Program p) { return p == Program::TcIngress || p == Program::TcEgress; }

bpf_attach_type cgroup_attach_type(Program p) {
  return p == Program::CgroupIngress ? BPF_CGROUP_INET_INGRESS : BPF_CGROUP_INET_EGRESS;
}

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

/// Loads the dispatcher for `p`, whose slot array is `slot_fd`.
int load_dispatcher(Program p, int slot_fd, std::string& error) {
  bpf_insn insns[6];
  std::memset(insns, 0, sizeof insns);
  insns[0].code = BPF_LD | BPF_DW | BPF_IMM;  // r2 = &slot array
  insns[0].dst_reg = BPF_REG_2;
  insns[0].src_reg = BPF_PSEUDO_MAP_FD;
  insns[0].imm = slot_fd;
  insns[2].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r3 = 0 (the slot); r1 is still the context
  insns[2].dst_reg = BPF_REG_3;
  insns[3].code = BPF_JMP | BPF_CALL;  // tail_call(ctx, slots, 0): does not return on success
  insns[3].imm = BPF_FUNC_tail_call;
  insns[4].code = BPF_ALU64 | BPF_MOV | BPF_K;  // empty slot: drop
  insns[4].dst_reg = BPF_REG_0;
  insns[4].imm = is_tc(p) ? TC_ACT_SHOT : 0;
  insns[5].code = BPF_JMP | BPF_EXIT;
  char log[4096] = {};
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = sizeof log, .log_buf = log);
  bpf_prog_type type = BPF_PROG_TYPE_SCHED_CLS;
  if (!is_tc(p)) {
    type = BPF_PROG_TYPE_CGROUP_SKB;
    // Same expected attach type as the bundle's cgroup programs, which the kernel checks
    // when they enter the slot array.
    opts.expected_attach_type = cgroup_attach_type(p);
  }
  std::string name = std::string("moat_d_") + slot_name(p);
  int fd = bpf_prog_load(type, name.c_str(), "Dual BSD/GPL", insns, 6, &opts);
  if (fd < 0) error = "cannot load the " + std::string(slot_name(p)) + " dispatcher: " + errno_text(errno) + "\n" + log;
  return fd;
}

uint32_t prog_id(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return 0;
  return info.id;
}

std::string link_path(const std::string& pin_dir, uint64_t cg, Program p) {
  return pin_dir + "/links/cg_" + std::to_string(cg) + (p == Program::CgroupIngress ? "_ingress" : "_egress");
}

} // namespace

const char* slot_name(Program p) {
  switch (p) {
  case Program::TcIngress: return "tc_ingress";
  case Program::TcEgress: return "tc_egress";
  case Program::CgroupIngress: return "cg_ingress";
  case Program::CgroupEgress: return "cg_egress";
  }
  return "?";
}

bool make_dirs(const std::string& path, std::string& error) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string part = path.substr(0, i);
      if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
        error = "cannot create " + part + ": " + errno_text(errno);
        return false;
      }
    }
  }
  return true;
}

void remove_tree(const std::string& path) {
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string child = path + "/" + n;
      struct stat st;
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(child);
      else unlink(child.c_str());
    }
    closedir(d);
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

bool ensure_bpffs(const std::string& pin_dir, std::string& error) {
  // Walk up to the first existing directory: it must be on bpffs.
  std::string dir = pin_dir;
  struct statfs fs;
  while (!dir.empty() && statfs(dir.c_str(), &fs) != 0) dir = dir.substr(0, dir.rfind('/'));
  if (dir.empty()) dir = "/";
  if (statfs(dir.c_str(), &fs) == 0 && fs.f_type == kBpffsMagic) return true;
  if (pin_dir.rfind("/sys/fs/bpf/", 0) == 0 && dir == "/sys/fs/bpf") {
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0) return true;
    error = "/sys/fs/bpf is not bpffs and mounting it failed: " + errno_text(errno);
    return false;
  }
  error = "pin directory " + pin_dir + " is not on a bpf filesystem";
  return false;
}

std::optional<Dispatch> Dispatch::open(const std::string& pin_dir, bool& adopted, std::string& error,
                                       bool create) {
  if (create && (!ensure_bpffs(pin_dir, error) || !make_dirs(pin_dir + "/dispatch", error) ||
                 !make_dirs(pin_dir + "/links", error)))
    return std::nullopt;
  Dispatch d;
  d.pin_dir_ = pin_dir;
  adopted = true;
  for (Program p : kPrograms) {
    size_t i = index_of(p);
    std::string slot = pin_dir + "/dispatch/slot_" + slot_name(p);
    std::string prog = pin_dir + "/dispatch/prog_" + slot_name(p);
    d.slot_fd_[i] = bpf_obj_get(slot.c_str());
    d.prog_fd_[i] = d.slot_fd_[i] >= 0 ? bpf_obj_get(prog.c_str()) : -1;
    if (d.slot_fd_[i] >= 0 && d.prog_fd_[i] >= 0) continue;
    if (!create) {
      error = "no dispatch layer pinned under " + pin_dir;
      return std::nullopt;
    }
    // Missing or half-pinned: build this pair afresh. (A half-pinned pair comes from a crash
    // between the two pins; its attach points are re-attached by the agent's next pass.)
    adopted = false;
    if (d.slot_fd_[i] >= 0) close(d.slot_fd_[i]);
    unlink(slot.c_str());
    unlink(prog.c_str());
    std::string name = std::string("moat_s_") + slot_name(p);
    d.slot_fd_[i] = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, name.c_str(), 4, 4, 1, nullptr);
    if (d.slot_fd_[i] < 0) {
      error = "cannot create the " + std::string(slot_name(p)) + " slot array: " + errno_text(errno);
      return std::nullopt;
    }
    d.prog_fd_[i] = load_dispatcher(p, d.slot_fd_[i], error);
    if (d.prog_fd_[i] < 0) return std::nullopt;
    // Pin the array first: a pinned program array keeps its entries (an unpinned one is
    // emptied when its last user-space reference goes away).
    if (bpf_obj_pin(d.slot_fd_[i], slot.c_str()) != 0 || bpf_obj_pin(d.prog_fd_[i], prog.c_str()) != 0) {
      error = "cannot pin the dispatch layer under " + pin_dir + ": " + errno_text(errno);
      return std::nullopt;
    }
  }
  return d;
}

Dispatch::Dispatch(Dispatch&& o) noexcept { *this = std::move(o); }

Dispatch& Dispatch::operator=(Dispatch&& o) noexcept {
  if (this != &o) {
    this->~Dispatch();
    pin_dir_ = std::move(o.pin_dir_);
    prog_fd_ = o.prog_fd_;
    slot_fd_ = o.slot_fd_;
    o.prog_fd_.fill(-1);
    o.slot_fd_.fill(-1);
  }
  return *this;
}

Dispatch::~Dispatch() {
  for (int& fd : prog_fd_) if (fd >= 0) { close(fd); fd = -1; }
  for (int& fd : slot_fd_) if (fd >= 0) { close(fd); fd = -1; }
}

bool Dispatch::activate(Program p, int prog_fd, std::string& error) {
  uint32_t key = 0;
  if (bpf_map_update_elem(slot_fd_[index_of(p)], &key, &prog_fd, BPF_ANY) != 0) {
    error = "cannot activate the " + std::string(slot_name(p)) + " program: " + errno_text(errno);
    return false;
  }
  return true;
}

uint32_t Dispatch::active_id(Program p) const {
  uint32_t key = 0, id = 0;
  // Looking up a program array from user space yields the program id.
  if (bpf_map_lookup_elem(slot_fd_[index_of(p)], &key, &id) != 0) return 0;
  return id;
}

void Dispatch::clear() {
  uint32_t key = 0;
  for (int fd : slot_fd_)
    if (fd >= 0) bpf_map_delete_elem(fd, &key);
}

bool Dispatch::attach_tc(int ifindex, std::string& error) {
  // The pod's egress policy runs where its packets enter the host: the veth's ingress hook.
  const std::pair<Program, bpf_tc_attach_point> hooks[] = {{Program::TcEgress, BPF_TC_INGRESS},
                                                           {Program::TcIngress, BPF_TC_EGRESS}};
  for (const auto& [p, point] : hooks) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    int r = bpf_tc_hook_create(&hook);
    if (r != 0 && r != -EEXIST) {
      error = "cannot create the clsact qdisc on ifindex " + std::to_string(ifindex) + ": " + errno_text(r);
      return false;
    }
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd_[index_of(p)], .flags = BPF_TC_F_REPLACE,
                .handle = kTcHandle, .priority = kTcPriority);
    r = bpf_tc_attach(&hook, &opts);
    if (r != 0) {
      error = "cannot attach to ifindex " + std::to_string(ifindex) + ": " + errno_text(r);
      return false;
    }
  }
  return true;
}

bool Dispatch::detach_tc(int ifindex, std::string& error) {
  QuietLibbpf quiet;
  bool ok = true;
  for (bpf_tc_attach_point point : {BPF_TC_INGRESS, BPF_TC_EGRESS}) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    int r = bpf_tc_detach(&hook, &opts);
    if (r != 0 && r != -ENOENT && r != -ENODEV && r != -EINVAL) {
      error = "cannot detach from ifindex " + std::to_string(ifindex) + ": " + errno_text(r);
      ok = false;
    }
  }
  return ok;
}

bool Dispatch::tc_attached(int ifindex) const {
  QuietLibbpf quiet;
  const std::pair<Program, bpf_tc_attach_point> hooks[] = {{Program::TcEgress, BPF_TC_INGRESS},
                                                           {Program::TcIngress, BPF_TC_EGRESS}};
  for (const auto& [p, point] : hooks) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    if (bpf_tc_query(&hook, &opts) != 0 || opts.prog_id != prog_id(prog_fd_[index_of(p)])) return false;
  }
  return true;
}

bool Dispatch::attach_cgroup(const std::string& path, std::string& error) {
  uint64_t cg = cgroup_id_of(path);
  if (cg == 0) {
    error = "cgroup " + path + " does not exist (or is not cgroup v2)";
    return false;
  }
  int cg_fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg_fd < 0) {
    error = "cannot open cgroup " + path + ": " + errno_text(errno);
    return false;
  }
  bool ok = true;
  for (Program p : {Program::CgroupIngress, Program::CgroupEgress}) {
    std::string pin = link_path(pin_dir_, cg, p);
    int existing = bpf_obj_get(pin.c_str());
    if (existing >= 0) {  // already attached by us (adopted); links pin the attachment
      close(existing);
      continue;
    }
    int link = bpf_link_create(prog_fd_[index_of(p)], cg_fd, cgroup_attach_type(p), nullptr);
    if (link < 0) {
      error = "cannot attach to cgroup " + path + ": " + errno_text(errno);
      ok = false;
      break;
    }
    if (bpf_obj_pin(link, pin.c_str()) != 0) {
      error = "cannot pin the cgroup link " + pin + ": " + errno_text(errno);
      ok = false;  // closing the unpinned link detaches it again
    }
    close(link);
    if (!ok) break;
  }
  close(cg_fd);
  return ok;
}

bool Dispatch::detach_cgroup(uint64_t cg, std::string& error) {
  bool ok = true;
  for (Program p : {Program::CgroupIngress, Program::CgroupEgress}) {
    std::string pin = link_path(pin_dir_, cg, p);
    int link = bpf_obj_get(pin.c_str());
    if (link < 0) continue;
    if (bpf_link_detach(link) != 0 && errno != ENOLINK) {
      error = "cannot detach " + pin + ": " + errno_text(errno);
      ok = false;
    }
    close(link);
    unlink(pin.c_str());
  }
  return ok;
}

bool Dispatch::cgroup_attached(uint64_t cg) const {
  for (Program p : {Program::CgroupIngress, Program::CgroupEgress}) {
    int link = bpf_obj_get(link_path(pin_dir_, cg, p).c_str());
    if (link < 0) return false;
    bpf_link_info info{};
    uint32_t len = sizeof info;
    bool live = bpf_obj_get_info_by_fd(link, &info, &len) == 0 && info.cgroup.cgroup_id == cg;
    close(link);
    if (!live) return false;
  }
  return true;
}

std::vector<uint64_t> Dispatch::attached_cgroups() const {
  std::vector<uint64_t> out;
  if (DIR* d = opendir((pin_dir_ + "/links").c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      const std::string suffix = "_ingress";
      if (n.rfind("cg_", 0) == 0 && n.size() > suffix.size() &&
          n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back(std::strtoull(n.c_str() + 3, nullptr, 10));
    }
    closedir(d);
  }
  return out;
}

std::vector<int> Dispatch::attached_interfaces() const {
  std::vector<int> out;
  if (struct if_nameindex* ifs = if_nameindex()) {
    for (struct if_nameindex* i = ifs; i->if_index != 0; ++i)
      if (tc_attached(static_cast<int>(i->if_index))) out.push_back(static_cast<int>(i->if_index));
    if_freenameindex(ifs);
  }
  return out;
}

} // namespace moat::runtime::agent
