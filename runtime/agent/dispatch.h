// The agent's fixed attach layer. What is attached to every pod interface and cgroup is not
// the policy program itself but a five-instruction dispatcher that tail-calls slot 0 of a
// program array; the active generation's policy program sits in that slot. Switching policy
// is then one map update for the whole node — every attach point moves to the new program
// at the same instant — and an empty slot drops (fail closed). Dispatchers, arrays and
// cgroup links are pinned, so enforcement outlives the agent process.
//
// Layout under PIN_DIR:  dispatch/{prog,slot}_{tc_ingress,tc_egress,cg_ingress,cg_egress}
//                        links/cg_<cgroup id>_{ingress,egress}
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/loader.h"

namespace moat::runtime::agent {

/// tc filter identity of the dispatchers (handle "moat", highest priority).
inline constexpr uint32_t kTcHandle = 0x6d6f6174;
inline constexpr uint32_t kTcPriority = 1;

inline constexpr std::array<Program, 4> kPrograms = {Program::TcIngress, Program::TcEgress,
                                                      Program::CgroupIngress, Program::CgroupEgress};
const char* slot_name(Program p);  // "tc_ingress", ...

class Dispatch {
public:
  /// Opens the pinned dispatch layer under `pin_dir`, or (when `create`) creates and pins
  /// what is missing. `adopted` tells whether everything was already there. The directory
  /// must be on bpffs. Readers (status, detach) pass create = false.
  static std::optional<Dispatch> open(const std::string& pin_dir, bool& adopted, std::string& error,
                                      bool create = true);
  Dispatch(Dispatch&&) noexcept;
  Dispatch& operator=(Dispatch&&) noexcept;
  ~Dispatch();

  /// Puts `prog_fd` in the slot of `p`: from now on every attach point of that kind runs it.
  bool activate(Program p, int prog_fd, std::string& error);
  /// The kernel id of the program in the slot of `p` (0 when empty).
  uint32_t active_id(Program p) const;
  /// Empties every slot: every attach point then drops (used before unpinning).
  void clear();

  /// Attaches both tc dispatchers to `ifindex` (the pod's egress on the interface's ingress
  /// hook, the pod's ingress on its egress hook). Idempotent (replaces our filter).
  bool attach_tc(int ifindex, std::string& error);
  bool detach_tc(int ifindex, std::string& error);
  /// True when our dispatcher filter is present on both hooks of `ifindex`.
  bool tc_attached(int ifindex) const;
  /// Attaches both cgroup dispatchers to the cgroup v2 directory `path` with pinned links.
  bool attach_cgroup(const std::string& path, std::string& error);
  bool detach_cgroup(uint64_t cgroup_id, std::string& error);
  bool cgroup_attached(uint64_t cgroup_id) const;
  /// cgroup ids with pinned links (for detach and status).
  std::vector<uint64_t> attached_cgroups() const;
  /// Interfaces of this network namespace carrying our tc filter.
  std::vector<int> attached_interfaces() const;

  const std::string& pin_dir() const { return pin_dir_; }

private:
  Dispatch() = default;
  std::string pin_dir_;
  std::array<int, 4> prog_fd_{-1, -1, -1, -1};
  std::array<int, 4> slot_fd_{-1, -1, -1, -1};
};

/// Makes sure `/sys/fs/bpf` (or the bpffs holding `pin_dir`) is mounted; mounts it if the
/// mount point is empty and not bpffs. Returns false with `error` when impossible.
bool ensure_bpffs(const std::string& pin_dir, std::string& error);
/// mkdir -p on bpffs.
bool make_dirs(const std::string& path, std::string& error);
/// Removes `path` and everything pinned below it (unpinning; the kernel frees objects
/// nobody else references).
void remove_tree(const std::string& path);

} // namespace moat::runtime::agent
