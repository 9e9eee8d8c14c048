// The loader core: libbpf open/load, map filling, test runs, attach, counters, events.
#include "runtime/loader.h"

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fcntl.h>
#include <linux/pkt_cls.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "backend/bundle/bundle_names.h"
#include "runtime/maps.h"

namespace moat::runtime {

const char* program_symbol(Program p) {
  switch (p) {
  case Program::TcIngress: return abi::kProgTcIngress;
  case Program::TcEgress: return abi::kProgTcEgress;
  case Program::CgroupIngress: return abi::kProgCgroupIngress;
  case Program::CgroupEgress: return abi::kProgCgroupEgress;
  }
  return "";
}

namespace {

// libbpf reports through one global print callback: collect its messages while we open
// and load, so that a verifier rejection comes back in the error string.
std::mutex g_log_mutex;
std::string* g_log = nullptr;
bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[4096];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof(buf), fmt, copy);
  va_end(copy);
  if (g_verbose) std::fputs(buf, stderr);
  if (g_log && level != LIBBPF_DEBUG && n > 0) g_log->append(buf, std::min<size_t>(n, sizeof(buf) - 1));
  return 0;
}

struct LogCapture {
  std::lock_guard<std::mutex> lock{g_log_mutex};
  std::string text;
  explicit LogCapture(bool verbose) {
    g_log = &text;
    g_verbose = verbose;
    libbpf_set_print(libbpf_print);
  }
  ~LogCapture() { g_log = nullptr; }
};

std::string last_lines(const std::string& text, size_t max_lines) {
  size_t pos = text.size(), lines = 0;
  while (pos > 0 && lines <= max_lines) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
    ++lines;
  }
  return text.substr(pos + 1);
}

bool is_tc(Program p) { return p == Program::TcIngress || p == Program::TcEgress; }

/// The generated object's only `.bss` variable is the policy epoch (abi::kGlobalEpoch).
constexpr const char* kEpochSection = ".bss";
bool is_epoch_map(const bpf_map* map) {
  const char* name = bpf_map__name(map);
  size_t n = std::strlen(name);
  return bpf_map__is_internal(map) && n >= 4 && std::strcmp(name + n - 4, ".bss") == 0;
}

/// Only the programs and maps moat generates: an object's names steer pin paths and
/// attach lookups, and a map pinned elsewhere must never be reused (bundle_names.h).
bool known_names(bpf_object* obj, std::string& error) {
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bundle::known_program_name(bpf_program__name(prog))) {
      error = std::string("the object has a program moat does not generate: '") + bpf_program__name(prog) + "'";
      return false;
    }
  }
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (!bundle::known_map_name(bpf_map__name(map))) {
      error = std::string("the object has a map moat does not generate: '") + bpf_map__name(map) + "'";
      return false;
    }
  }
  return true;
}

} // namespace

bool check_object(const std::vector<uint8_t>& elf, std::string& error) {
  LogCapture log(false);
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "moat");
  bpf_object* obj = bpf_object__open_mem(elf.data(), elf.size(), &oo);
  if (!obj) {
    error = std::string("cannot open BPF object: ") + strerror(errno);
    return false;
  }
  bool ok = known_names(obj, error);
  bpf_object__close(obj);
  return ok;
}

std::unique_ptr<Datapath> Datapath::open(const std::vector<uint8_t>& elf, const OpenOptions& opts,
                                         std::string& error) {
  LogCapture log(opts.verbose);
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "moat");
  bpf_object* obj = bpf_object__open_mem(elf.data(), elf.size(), &oo);
  if (!obj) {
    error = std::string("cannot open BPF object: ") + strerror(errno) + "\n" + last_lines(log.text, 20);
    return nullptr;
  }
  if (opts.conntrack_entries) {
    // Sized before load: the object's default comes from the build plan (DATAPATH.md).
    bpf_map* ct = bpf_object__find_map_by_name(obj, abi::kMapConntrack);
    if (!ct || bpf_map__set_max_entries(ct, opts.conntrack_entries) != 0) {
      error = std::string("cannot size ") + abi::kMapConntrack + " to " + std::to_string(opts.conntrack_entries) + " entries";
      bpf_object__close(obj);
      return nullptr;
    }
  }
  if (!known_names(obj, error)) {
    bpf_object__close(obj);
    return nullptr;
  }
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (opts.pin_dir.empty()) break;
    // libbpf names the .bss map after the object ("moat.bss"); pin it under the name of
    // the one variable it holds, so a reader of the pin directory finds the epoch.
    auto path = bundle::pin_path(opts.pin_dir, is_epoch_map(map) ? abi::kGlobalEpoch : bpf_map__name(map), error);
    if (!path || bpf_map__set_pin_path(map, path->c_str()) != 0) {
      if (path) error = "cannot set pin path " + *path;
      bpf_object__close(obj);
      return nullptr;
    }
  }
  if (bpf_object__load(obj) != 0) {
    int err = errno;
    error = std::string("the kernel refused the BPF object: ") + strerror(err) + "\n" + last_lines(log.text, 40);
    bpf_object__close(obj);
    return nullptr;
  }
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->obj_ = obj;
  bpf_map* bss = bpf_object__find_map_by_name(obj, kEpochSection);
  if (bss && bpf_map__value_size(bss) == sizeof(uint32_t)) dp->epoch_fd_ = bpf_map__fd(bss);
  return dp;
}

Datapath::~Datapath() {
  if (ring_) ring_buffer__free(ring_);
  if (obj_) bpf_object__close(obj_);
}

int Datapath::program_fd(Program p) const {
  bpf_program* prog = bpf_object__find_program_by_name(obj_, program_symbol(p));
  return prog ? bpf_program__fd(prog) : -1;
}

int Datapath::map_fd(const char* name) const {
  bpf_map* map = bpf_object__find_map_by_name(obj_, name);
  return map ? bpf_map__fd(map) : -1;
}

bool Datapath::apply(const bundle::MapContents& c, std::string& error) {
  // Order matters for a live node: identities and endpoints before the policy entries that
  // name them; each map's stale entries go last (sync_map).
  struct Step {
    const char* map;
    std::vector<RawEntry> entries;
  };
  Step steps[] = {{abi::kMapHosts, raw_entries(c.hosts)},
                  {abi::kMapIpcache, raw_entries(c.ipcache)},
                  {abi::kMapPolicyExact, raw_entries(c.policy_exact)},
                  {abi::kMapPolicy, raw_entries(c.policy)},
                  {abi::kMapEndpoints, raw_entries(c.endpoints)}};
  for (const Step& s : steps) {
    int fd = map_fd(s.map);
    if (fd < 0) {
      error = std::string("object has no map ") + s.map;
      return false;
    }
    if (!sync_map(fd, s.entries, error)) {
      error = std::string(s.map) + ": " + error;
      return false;
    }
  }
  return true;
}

bool Datapath::set_epoch(uint32_t epoch, std::string& error) {
  uint32_t key = 0;
  if (epoch_fd_ < 0) {
    error = "the object has no policy epoch (built by an older moat)";
    return false;
  }
  if (bpf_map_update_elem(epoch_fd_, &key, &epoch, BPF_ANY) != 0) {
    error = std::string("cannot set the policy epoch: ") + strerror(errno);
    return false;
  }
  return true;
}

std::optional<uint32_t> Datapath::epoch() const {
  uint32_t key = 0, value = 0;
  if (epoch_fd_ < 0 || bpf_map_lookup_elem(epoch_fd_, &key, &value) != 0) return std::nullopt;
  return value;
}

std::optional<uint32_t> read_pinned_epoch(const std::string& pin_dir) {
  int fd = bpf_obj_get((pin_dir + "/" + abi::kGlobalEpoch).c_str());
  if (fd < 0) return std::nullopt;
  uint32_t key = 0, value = 0;
  bool ok = bpf_map_lookup_elem(fd, &key, &value) == 0;
  ::close(fd);
  return ok ? std::optional<uint32_t>(value) : std::nullopt;
}

bool Datapath::flush_conntrack(std::string& error) {
  return clear_map(map_fd(abi::kMapConntrack), sizeof(abi::FlowTuple), error) &&
         clear_map(map_fd(abi::kMapFragments), sizeof(abi::FragmentKey), error);
}

bool Datapath::set_endpoint(const abi::EndpointKey& key, const abi::EndpointValue& value, std::string& error) {
  if (bpf_map_update_elem(map_fd(abi::kMapEndpoints), &key, &value, BPF_ANY) != 0) {
    error = std::string("cannot set endpoint: ") + strerror(errno);
    return false;
  }
  return true;
}

std::optional<RunResult> Datapath::test_run(Program p, const std::vector<uint8_t>& packet, uint32_t repeat,
                                            std::string& error) const {
  int fd = program_fd(p);
  if (fd < 0) {
    error = std::string("object has no program ") + program_symbol(p);
    return std::nullopt;
  }
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_size_in = static_cast<uint32_t>(packet.size()),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(fd, &opts) != 0) {
    error = std::string("BPF_PROG_TEST_RUN failed: ") + strerror(errno);
    return std::nullopt;
  }
  RunResult r;
  r.retval = opts.retval;
  r.passed = is_tc(p) ? opts.retval == TC_ACT_OK : opts.retval == 1;
  r.duration_ns = opts.duration;
  return r;
}

Counters Datapath::read_counters(std::string& error) const {
  Counters out;
  int fd = map_fd(abi::kMapCounters);
  struct bpf_map_info info = {};
  uint32_t len = sizeof(info);
  if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    error = "no counters map";
    return out;
  }
  std::vector<uint64_t> sum;
  for (uint32_t i = 0; i < info.max_entries; ++i) {
    if (!read_percpu_u64s(fd, i, 2, sum, error)) return Counters{};
    out.slots.push_back({sum[0], sum[1]});
  }
  return out;
}

int Datapath::on_event(void* self, void* data, size_t size) {
  auto* dp = static_cast<Datapath*>(self);
  if (size >= sizeof(abi::DropEvent) && dp->event_fn_) {
    abi::DropEvent ev;
    std::memcpy(&ev, data, sizeof(ev));
    dp->event_fn_(ev);
  }
  return 0;
}

int Datapath::poll_events(const std::function<void(const abi::DropEvent&)>& fn, int timeout_ms, std::string& error) {
  if (!ring_) {
    ring_ = ring_buffer__new(map_fd(abi::kMapEvents), &Datapath::on_event, this, nullptr);
    if (!ring_) {
      error = std::string("cannot open the event ring buffer: ") + strerror(errno);
      return -1;
    }
  }
  event_fn_ = fn;
  int n = ring_buffer__poll(ring_, timeout_ms);
  event_fn_ = nullptr;
  if (n < 0 && n != -EINTR) {
    error = std::string("ring buffer poll failed: ") + strerror(-n);
    return -1;
  }
  return n < 0 ? 0 : n;
}

bool Datapath::attach_tc(Program p, int ifindex, bool ingress_hook, std::string& error) {
  if (!is_tc(p)) {
    error = "not a tc program";
    return false;
  }
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = ingress_hook ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST) {
    error = std::string("cannot create clsact qdisc: ") + strerror(-err);
    return false;
  }
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = program_fd(p), .flags = BPF_TC_F_REPLACE, .handle = 1, .priority = 1);
  err = bpf_tc_attach(&hook, &opts);
  if (err) {
    error = std::string("cannot attach tc program: ") + strerror(-err);
    return false;
  }
  return true;
}

bool Datapath::detach_tc(int ifindex, bool ingress_hook, std::string& error) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = ingress_hook ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
  int err = bpf_tc_detach(&hook, &opts);
  if (err && err != -ENOENT) {
    error = std::string("cannot detach tc program: ") + strerror(-err);
    return false;
  }
  return true;
}

namespace {
enum bpf_attach_type cgroup_attach_type(Program p) {
  return p == Program::CgroupIngress ? BPF_CGROUP_INET_INGRESS : BPF_CGROUP_INET_EGRESS;
}
} // namespace

bool Datapath::attach_cgroup(Program p, const std::string& path, std::string& error) {
  if (is_tc(p)) {
    error = "not a cgroup_skb program";
    return false;
  }
  int cg = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (cg < 0) {
    error = "cannot open cgroup " + path + ": " + strerror(errno);
    return false;
  }
  int err = bpf_prog_attach(program_fd(p), cg, cgroup_attach_type(p), BPF_F_ALLOW_MULTI);
  int saved = errno;
  ::close(cg);
  if (err) {
    error = "cannot attach to cgroup " + path + ": " + strerror(saved);
    return false;
  }
  return true;
}

bool Datapath::detach_cgroup(Program p, const std::string& path, std::string& error) {
  int cg = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (cg < 0) {
    error = "cannot open cgroup " + path + ": " + strerror(errno);
    return false;
  }
  int err = bpf_prog_detach2(program_fd(p), cg, cgroup_attach_type(p));
  int saved = errno;
  ::close(cg);
  if (err && saved != ENOENT) {
    error = "cannot detach from cgroup " + path + ": " + strerror(saved);
    return false;
  }
  return true;
}

uint64_t cgroup_id_of(const std::string& path) {
  // The cgroup id is the kernfs node id, which name_to_handle_at() returns as the handle.
  struct {
    struct file_handle fh;
    uint64_t id;
  } h = {};
  h.fh.handle_bytes = sizeof(uint64_t);
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, path.c_str(), &h.fh, &mount_id, 0) != 0) return 0;
  uint64_t id;
  std::memcpy(&id, h.fh.f_handle, sizeof(id));
  return id;
}

std::string cgroup2_mount() {
  // /proc/self/mountinfo: "... mount-point ... - fstype source options"; hybrid hosts
  // mount cgroup2 at /sys/fs/cgroup/unified rather than /sys/fs/cgroup.
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string f, mount_point;
    for (int i = 0; i < 5 && fields >> f; ++i)
      if (i == 4) mount_point = f;
    if (!mount_point.empty()) return mount_point;
  }
  return "/sys/fs/cgroup";
}

std::string own_cgroup_path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) {
      std::string rel = line.substr(3);
      return cgroup2_mount() + (rel == "/" ? "" : rel);
    }
  return "";
}

bool kernel_bpf_available(std::string& why) {
  if (geteuid() != 0) {
    why = "not running as root";
    return false;
  }
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "moat_probe", 4, 4, 1, nullptr);
  if (fd < 0) {
    why = std::string("bpf() is not permitted: ") + strerror(errno);
    return false;
  }
  ::close(fd);
  return true;
}

} // namespace moat::runtime
