// The drop log ring file (see drop_log.h): a header and fixed-size slots, each guarded by
// its own sequence number (a seqlock), so readers in other processes never lock anything.
#include "runtime/agent/drop_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "runtime/inventory/terminating.h"

namespace moat::runtime::agent {

namespace {

constexpr char kMagic[8] = {'M', 'O', 'A', 'T', 'D', 'R', 'O', 'P'};
constexpr uint32_t kVersion = 1;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t capacity;
  uint32_t slot_size;
  int32_t pid;                // the writing agent
  std::atomic<uint64_t> next; // sequence number of the next record
};

struct Slot {
  std::atomic<uint64_t> seq;  // record number + 1 once complete; 0 while being written
  int64_t unix_ns;
  abi::DropEvent event;
  uint8_t revoked;
  char direction[8], protocol[16];
  char src[56], dst[56];
  char reason[160], origin[192], location[192];
  char src_pod[160], dst_pod[160];
  char src_labels[320], dst_labels[320];
};

static_assert(std::atomic<uint64_t>::is_always_lock_free, "slots are shared between processes");

template <size_t N> void put(char (&dst)[N], const std::string& s) {
  size_t n = std::min(s.size(), N - 1);
  std::memcpy(dst, s.data(), n);
  dst[n] = 0;
}
template <size_t N> std::string get(const char (&src)[N]) { return std::string(src, strnlen(src, N)); }

size_t file_size(uint32_t capacity) { return sizeof(Header) + size_t{capacity} * sizeof(Slot); }

Slot* slots(void* map) { return reinterpret_cast<Slot*>(static_cast<char*>(map) + sizeof(Header)); }


} // namespace

int64_t monotonic_to_unix_offset_ns() {
  timespec mono{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  return (int64_t{real.tv_sec} - mono.tv_sec) * 1'000'000'000 + (int64_t{real.tv_nsec} - mono.tv_nsec);
}

std::string drop_log_path(const std::string& state_dir) { return state_dir + "/drops.ring"; }

PodNames pod_names(const KubeObjects& inv, const inventory::LiveAddresses& live) {
  PodNames out;
  for (const KubePod& p : inv.pods) {
    if (!p.is_workload()) continue;
    std::string labels;
    for (const auto& [k, v] : p.ep.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    for (const IpAddr& ip : inventory::held_addresses(p, live)) out[ip] = {p.ep.name, labels};
  }
  return out;
}

PodNamer namer_over(std::function<std::shared_ptr<const PodNames>()> current) {
  return [current = std::move(current)](uint8_t family, const uint8_t* addr) -> std::pair<std::string, std::string> {
    std::shared_ptr<const PodNames> names = current();
    if (!names) return {};
    IpAddr ip;
    ip.v6 = family == abi::kFamilyV6;
    std::memcpy(ip.bytes.data(), addr, ip.v6 ? 16 : 4);
    auto it = names->find(ip);
    return it == names->end() ? std::pair<std::string, std::string>{} : it->second;
  };
}

std::unique_ptr<DropLogWriter> DropLogWriter::create(const std::string& path, uint32_t capacity, std::string& error) {
  // A new file replaces the old one by rename: readers of the old one see it stop (its
  // writer pid is gone) and reopen.
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create " + tmp + ": " + std::strerror(errno);
    return nullptr;
  }
  size_t size = file_size(capacity);
  void* map = MAP_FAILED;
  if (ftruncate(fd, static_cast<off_t>(size)) == 0)
    map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot set up " + path + ": " + std::strerror(errno);
    if (map != MAP_FAILED) munmap(map, size);
    ::close(fd);
    ::unlink(tmp.c_str());
    return nullptr;
  }
  auto* h = static_cast<Header*>(map);
  std::memcpy(h->magic, kMagic, sizeof kMagic);
  h->version = kVersion;
  h->capacity = capacity;
  h->slot_size = sizeof(Slot);
  h->pid = static_cast<int32_t>(getpid());
  h->next.store(0, std::memory_order_release);
  std::unique_ptr<DropLogWriter> w(new DropLogWriter());
  w->fd_ = fd;
  w->map_ = map;
  w->size_ = size;
  return w;
}

DropLogWriter::~DropLogWriter() {
  if (map_) munmap(map_, size_);
  if (fd_ >= 0) ::close(fd_);
}

uint64_t DropLogWriter::written() const {
  return static_cast<const Header*>(map_)->next.load(std::memory_order_acquire);
}

void DropLogWriter::append(const ObservedDrop& d) {
  auto* h = static_cast<Header*>(map_);
  uint64_t n = h->next.load(std::memory_order_relaxed);
  Slot& s = slots(map_)[n % h->capacity];
  s.seq.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.unix_ns = d.unix_ns;
  s.event = d.drop.event;
  s.revoked = d.drop.revoked;
  put(s.direction, d.drop.direction);
  put(s.protocol, d.drop.protocol);
  put(s.src, d.drop.src);
  put(s.dst, d.drop.dst);
  put(s.reason, d.drop.reason);
  put(s.origin, d.drop.origin);
  put(s.location, d.drop.location);
  put(s.src_pod, d.src_pod);
  put(s.dst_pod, d.dst_pod);
  put(s.src_labels, d.src_labels);
  put(s.dst_labels, d.dst_labels);
  s.seq.store(n + 1, std::memory_order_release);
  h->next.store(n + 1, std::memory_order_release);
}

bool drop_log_live(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Header h{};
  bool ok = ::pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h);
  ::close(fd);
  return ok && std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 && h.pid > 0 && (kill(h.pid, 0) == 0 || errno == EPERM);
}

int follow_drop_log(const std::string& path, int max_events, int timeout_ms, bool backlog,
                    const std::function<bool()>& stop, const std::function<void(const ObservedDrop&)>& fn,
                    uint64_t& lost, std::string& error) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  lost = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(Header)) {
    error = "no drop log at " + path;
    if (fd >= 0) ::close(fd);
    return -1;
  }
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    error = "cannot map " + path + ": " + std::strerror(errno);
    return -1;
  }
  const auto* h = static_cast<const Header*>(map);
  if (std::memcmp(h->magic, kMagic, sizeof kMagic) != 0 || h->version != kVersion || h->slot_size != sizeof(Slot) ||
      h->capacity == 0 || file_size(h->capacity) > static_cast<size_t>(st.st_size)) {
    munmap(map, static_cast<size_t>(st.st_size));
    error = path + " is not a drop log of this moat version";
    return -1;
  }
  uint64_t cap = h->capacity;
  uint64_t next = h->next.load(std::memory_order_acquire);
  uint64_t want = backlog ? (next > cap ? next - cap : 0) : next;
  int seen = 0;
  const Slot* ring = slots(map);
  auto done = [&] {
    return (stop && stop()) || (max_events && seen >= max_events) ||
           (timeout_ms && std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() >= timeout_ms);
  };
  while (!done()) {
    next = h->next.load(std::memory_order_acquire);
    if (want >= next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (next - want > cap) {  // fell a whole ring behind
      lost += next - cap - want;
      want = next - cap;
    }
    const Slot& s = ring[want % cap];
    // Record `want` was complete when `next` passed it; a slot now holding another number
    // (or 0: being rewritten) was overwritten by a newer record.
    uint64_t before = s.seq.load(std::memory_order_acquire);
    if (before != want + 1) {
      ++lost;
      ++want;
      continue;
    }
    ObservedDrop d;
    d.unix_ns = s.unix_ns;
    d.drop.event = s.event;
    d.drop.revoked = s.revoked;
    d.drop.direction = get(s.direction);
    d.drop.protocol = get(s.protocol);
    d.drop.src = get(s.src);
    d.drop.dst = get(s.dst);
    d.drop.reason = get(s.reason);
    d.drop.origin = get(s.origin);
    d.drop.location = get(s.location);
    d.src_pod = get(s.src_pod);
    d.dst_pod = get(s.dst_pod);
    d.src_labels = get(s.src_labels);
    d.dst_labels = get(s.dst_labels);
    std::atomic_thread_fence(std::memory_order_acquire);
    uint64_t after = s.seq.load(std::memory_order_relaxed);
    if (after != before) {  // overwritten while we copied it
      ++lost;
      ++want;
      continue;
    }
    ++want;
    ++seen;
    fn(d);
  }
  munmap(map, static_cast<size_t>(st.st_size));
  return seen;
}

std::unique_ptr<DropLogPump> DropLogPump::start(const std::string& pin_dir, const std::string& state_dir,
                                                PodNamer namer, std::string& error) {
  std::unique_ptr<DropLogPump> p(new DropLogPump());
  p->writer_ = DropLogWriter::create(drop_log_path(state_dir), 4096, error);
  if (!p->writer_) return nullptr;
  DropLogPump* self = p.get();
  p->thread_ = std::thread([self, pin_dir, state_dir, namer = std::move(namer)] {
    int64_t offset = monotonic_to_unix_offset_ns();
    auto stop = [self] { return self->stop_.load(); };
    while (!stop()) {
      std::string err;
      // The only consumer of the kernel's ring; follows generation switches itself. Before
      // the first generation is pinned there is nothing to follow: look again shortly.
      int n = observe_drops(pin_dir, state_dir, 0, 0, /*backlog=*/true, stop,
                            [&](const DropRecord& r) {
                              ObservedDrop d;
                              d.drop = r;
                              d.unix_ns = static_cast<int64_t>(r.event.timestamp_ns) + offset;
                              if (namer) {
                                std::tie(d.src_pod, d.src_labels) = namer(r.event.family, r.event.saddr);
                                std::tie(d.dst_pod, d.dst_labels) = namer(r.event.family, r.event.daddr);
                              }
                              self->writer_->append(d);
                            },
                            err);
      if (n < 0)
        for (int i = 0; i < 25 && !stop(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  return p;
}

DropLogPump::~DropLogPump() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

} // namespace moat::runtime::agent
