// The agent's generations and the policy epoch, in the kernel: each generation's epoch is
// pinned with it and read back, epochs follow every pinned one, an in-place update moves the
// epoch only when an entry changed, conntrack is carried to the next generation, and the
// connections of a conntrack map the new object cannot reuse (another layout) are copied
// with epoch 0 — judged again on their next packet rather than lost. Also the conntrack size
// override and the conntrack reads and marks behind zombie FQDN addresses. An object whose map or
// program names moat never generates is refused before anything is pinned.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstddef>
#include <algorithm>
#include <set>

#include <bpf/bpf.h>

#include "backend/bundle/datapath_abi.h"
#include "kernel_env.h"
#include "runtime/agent/fqdn_conntrack.h"
#include "runtime/agent/generation.h"
#include "runtime/maps.h"

using namespace moat;
using namespace moat::runtime::agent;

namespace {

struct PinDir {
  std::string path = "/sys/fs/bpf/moat-test-gen-" + std::to_string(getpid());
  ~PinDir() { remove_tree(path); }
};

Module policy() {
  Module m;
  EndpointSelector a;
  a.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"a"}, {}});
  m.isolations.push_back({a, Direction::Ingress, "t", {}});
  Rule in;
  in.subject = a;
  in.dir = Direction::Ingress;
  in.ports = {{Protocol::TCP, 22, 22, "", {}}};
  m.add_rule(in);
  return m;
}

abi::FlowTuple some_flow() {
  abi::FlowTuple t{};
  t.saddr[0] = 10, t.saddr[3] = 1;
  t.daddr[0] = 10, t.daddr[3] = 2;
  t.sport[1] = 99, t.dport[1] = 22;
  t.proto = 6;
  t.family = abi::kFamilyV4;
  return t;
}

/// Pins, as generation 1 under `pin_path`, the conntrack map an older moat would have left:
/// keys of `key_size` bytes, values of `value_size`, holding `entries` (key, value). Returns
/// the generation's directory.
std::string pin_old_conntrack(const std::string& pin_path, uint32_t key_size, uint32_t value_size,
                              const std::vector<std::pair<const void*, const void*>>& entries) {
  std::string dir = generation_dir(pin_path, 1), error;
  REQUIRE(make_dirs(dir, error));
  int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "moat_ct", key_size, value_size, 1024, nullptr);
  REQUIRE(fd >= 0);
  for (const auto& [k, v] : entries) REQUIRE(bpf_map_update_elem(fd, k, v, BPF_ANY) == 0);
  REQUIRE(bpf_obj_pin(fd, (dir + "/" + abi::kMapConntrack).c_str()) == 0);
  close(fd);
  return dir;
}

} // namespace

TEST_CASE("generations: pinned epochs, in-place updates, carried conntrack", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  PinDir pin;
  Module m = policy();
  std::vector<uint8_t> elf = test::compile_for(m);
  Desired d;
  d.add(test::workload("x", "a", {{"app", "a"}}, "10.0.0.1"));
  d.locals = {{0, 7, 0}};
  std::string note, error;

  auto g1 = open_generation(elf, pin.path, 1, "", false, note, error);
  INFO(error);
  REQUIRE(g1);
  REQUIRE(fill(*g1, m, d, error));
  REQUIRE(set_epoch(*g1, 5, error));
  CHECK(g1->epoch == 5);
  CHECK(runtime::read_pinned_epoch(g1->dir) == 5u);
  CHECK(latest_epoch(pin.path, 3) == 5);   // state.json behind the pins
  CHECK(latest_epoch(pin.path, 9) == 9);
  CHECK(next_epoch(5) == 6);
  CHECK(next_epoch(0xFFFFFFFFu) == 1);     // 0 stays the epoch of "never judged"
  abi::FlowTuple flow = some_flow();
  abi::ConntrackValue v{0, 5};
  REQUIRE(bpf_map_update_elem(g1->dp->map_fd(abi::kMapConntrack), &flow, &v, BPF_ANY) == 0);

  // The next generation reuses the conntrack map; its epoch is its own.
  auto g2 = open_generation(elf, pin.path, 2, g1->dir, false, note, error);
  REQUIRE(g2);
  CHECK(g2->carried);
  CHECK(note.empty());
  abi::ConntrackValue got{};
  CHECK(bpf_map_lookup_elem(g2->dp->map_fd(abi::kMapConntrack), &flow, &got) == 0);
  CHECK(runtime::read_pinned_epoch(g2->dir) == 0u);  // not carried: nobody set it yet
  REQUIRE(fill(*g2, m, d, error));
  REQUIRE(set_epoch(*g2, next_epoch(5), error));
  CHECK(runtime::read_pinned_epoch(g1->dir) == 5u);

  // In place: nothing changed, the epoch stays; a new endpoint, the epoch moves.
  bool changed = true;
  REQUIRE(update_in_place(*g2, m, d, 7, changed, error));
  CHECK_FALSE(changed);
  CHECK(g2->dp->epoch() == 6u);
  d.add(test::workload("x", "b", {{"app", "b"}}, "10.0.0.2"));
  REQUIRE(update_in_place(*g2, m, d, 7, changed, error));
  CHECK(changed);
  CHECK(g2->dp->epoch() == 7u);
  CHECK(g2->epoch == 7);
  CHECK(latest_epoch(pin.path, 0) == 7);
}

TEST_CASE("generations: conntrack of another layout is copied, to be judged again", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  PinDir pin;
  Module m = policy();
  std::vector<uint8_t> elf = test::compile_for(m);
  std::string error, note;
  // What a moat with a 16-byte conntrack value would have pinned.
  abi::FlowTuple flow = some_flow();
  uint32_t old_value[4] = {3, 0xAAAA, 0xBBBB, 0xCCCC};
  std::string old_dir = pin_old_conntrack(pin.path, sizeof(abi::FlowTuple), 16, {{&flow, old_value}});

  auto g = open_generation(elf, pin.path, 2, old_dir, false, note, error);
  INFO(error);
  REQUIRE(g);
  CHECK_FALSE(g->carried);
  CHECK(note.find("1 tracked connections copied") != std::string::npos);
  abi::ConntrackValue got{};
  REQUIRE(bpf_map_lookup_elem(g->dp->map_fd(abi::kMapConntrack), &flow, &got) == 0);
  CHECK(got.rule == 3);
  CHECK(got.epoch == 0);
}

TEST_CASE("generations: conntrack without the local endpoint goes to the endpoint that owns it", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  PinDir pin;
  Module m = policy();
  std::vector<uint8_t> elf = test::compile_for(m);
  std::string error, note;
  // What a moat whose conntrack key had no local endpoint (40 bytes) would have pinned: an
  // egress entry of a (10.0.0.1), an ingress entry to a, and one of an address nobody has.
  abi::FlowTuple out = some_flow();
  out.dir = static_cast<uint8_t>(Direction::Egress);
  abi::FlowTuple in = some_flow();  // 10.0.0.1 -> 10.0.0.2 seen at 10.0.0.2's ingress: not a's
  in.dir = static_cast<uint8_t>(Direction::Ingress);
  abi::FlowTuple to_a = some_flow();
  std::swap(to_a.saddr, to_a.daddr);
  to_a.dir = static_cast<uint8_t>(Direction::Ingress);
  abi::ConntrackValue v{4, 9};
  std::string old_dir = pin_old_conntrack(pin.path, offsetof(abi::FlowTuple, local), sizeof v,
                                          {{&out, &v}, {&in, &v}, {&to_a, &v}});

  Desired d;
  d.add(test::workload("x", "a", {{"app", "a"}}, "10.0.0.1"));
  d.locals = {{0, 7, 0}};
  auto g = open_generation(elf, pin.path, 2, old_dir, false, note, error);
  INFO(error);
  REQUIRE(g);
  REQUIRE(fill(*g, m, d, error));
  int fd = g->dp->map_fd(abi::kMapConntrack);
  const uint64_t a_id = bundle::endpoint_conntrack_id(bundle::endpoint_key(abi::kEndpointKindIfindex, 7));
  abi::ConntrackValue got{};
  out.local = a_id;
  REQUIRE(bpf_map_lookup_elem(fd, &out, &got) == 0);
  CHECK(got.rule == 4);
  CHECK(got.epoch == 0);
  to_a.local = a_id;
  CHECK(bpf_map_lookup_elem(fd, &to_a, &got) == 0);
  CHECK(runtime::map_keys(fd, sizeof(abi::FlowTuple)).size() == 2);  // `in` belongs to nobody here
}

TEST_CASE("generations: a conntrack size override, and the conntrack epochs zombie FQDN addresses are judged by",
          "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  PinDir pin;
  Module m = policy();
  std::vector<uint8_t> elf = test::compile_for(m);
  std::string note, error;
  auto max_entries = [](int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0u;
  };
  auto g1 = open_generation(elf, pin.path, 1, "", false, note, error, 4096);
  INFO(error);
  REQUIRE(g1);
  int ct = g1->dp->map_fd(abi::kMapConntrack);
  CHECK(max_entries(ct) == 4096);
  abi::FlowTuple flow = some_flow();
  abi::ConntrackValue v{0, 5};
  REQUIRE(bpf_map_update_elem(ct, &flow, &v, BPF_ANY) == 0);

  // Entries by address (either end), and the mark the agent stamps on a zombie's entries.
  IpAddr src = *IpAddr::parse("10.0.0.1"), dst = *IpAddr::parse("10.0.0.2");
  auto uses = conntrack_epochs(ct);
  CHECK(uses[src] == std::vector<uint32_t>{5});
  CHECK(uses[dst] == std::vector<uint32_t>{5});
  CHECK_FALSE(uses.count(*IpAddr::parse("10.0.0.3")));
  mark_conntrack(ct, {*IpAddr::parse("10.0.0.3")}, 1);  // not this entry's
  CHECK(conntrack_epochs(ct)[dst] == std::vector<uint32_t>{5});
  mark_conntrack(ct, {dst}, 4);
  REQUIRE(bpf_map_lookup_elem(ct, &flow, &v) == 0);
  CHECK(v.epoch == 4);

  // Back to the object's own size: the map cannot be reused, its connections are copied.
  auto g2 = open_generation(elf, pin.path, 2, g1->dir, false, note, error);
  REQUIRE(g2);
  CHECK_FALSE(g2->carried);
  CHECK(max_entries(g2->dp->map_fd(abi::kMapConntrack)) > 4096);
  CHECK(note.find("1 tracked connections copied") != std::string::npos);
}

namespace {

/// `elf` with every NUL-terminated occurrence of `from` replaced by `to` (same length): a
/// map or program renamed in the symbol and BTF string tables, as a hand-made object could.
std::vector<uint8_t> renamed(std::vector<uint8_t> elf, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  std::string needle = from + '\0';
  size_t hits = 0;
  for (auto it = elf.begin(); (it = std::search(it, elf.end(), needle.begin(), needle.end())) != elf.end(); ++hits)
    it = std::copy(to.begin(), to.end(), it);
  REQUIRE(hits > 0);
  return elf;
}

} // namespace

TEST_CASE("generations: an object's map and program names cannot steer pins or lookups", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  PinDir pin;
  std::vector<uint8_t> elf = test::compile_for(policy());
  std::string parent = pin.path + "/gen";  // generation_dir(pin, 1) is PIN/gen/1
  std::string note, error;
  // A compatible map pinned at PIN/frag (another tool's, or one an attacker prepared), where
  // a map renamed ../../frag points from generation 1's directory: a loader that trusted
  // the name would adopt that map instead of creating its own.
  auto other = open_generation(elf, pin.path, 7, "", false, note, error);
  REQUIRE(other);
  int fd = bpf_obj_get((generation_dir(pin.path, 7) + "/" + abi::kMapFragments).c_str());
  REQUIRE(fd >= 0);
  REQUIRE(bpf_obj_pin(fd, (pin.path + "/frag").c_str()) == 0);
  close(fd);
  auto g = open_generation(renamed(elf, abi::kMapFragments, "../../frag"), pin.path, 1, "", false, note, error);
  CHECK_FALSE(g);
  CHECK(error.find("map moat does not generate: '../../frag'") != std::string::npos);
  CHECK(access((parent + "/frag").c_str(), F_OK) != 0);
  // A map of another tool's name, and an extra program.
  g = open_generation(renamed(elf, abi::kMapEvents, "xdp_events_"), pin.path, 1, "", false, note, error);
  CHECK_FALSE(g);
  CHECK(error.find("map moat does not generate") != std::string::npos);
  g = open_generation(renamed(elf, abi::kProgTcEgress, "moat_tc_egres2"), pin.path, 1, "", false, note, error);
  CHECK_FALSE(g);
  CHECK(error.find("program moat does not generate") != std::string::npos);
  // The untouched object still opens.
  g = open_generation(elf, pin.path, 1, "", false, note, error);
  INFO(error);
  CHECK(g);
}

TEST_CASE("generations: a learned address written directly is what a full update writes, zombies are marked",
          "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  PinDir pin;
  Module m = policy();
  EndpointSelector a;
  a.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"a"}, {}});
  m.isolations.push_back({a, Direction::Egress, "t", {}});
  Rule out;
  out.subject = a;
  out.dir = Direction::Egress;
  out.peer.kind = Peer::Kind::Fqdn;
  out.peer.fqdn.value = "api.example.test";
  out.ports = {{Protocol::TCP, 80, 80, "", {}}};
  m.add_rule(out);
  std::vector<uint8_t> elf = test::compile_for(m);
  Desired d;
  d.add(test::workload("x", "a", {{"app", "a"}}, "10.0.0.1"));
  d.add(test::workload("x", "b", {{"app", "b"}}, "10.0.0.2"));
  d.locals = {{0, 7, 0}};
  std::string note, error;
  auto g = open_generation(elf, pin.path, 1, "", false, note, error);
  INFO(error);
  REQUIRE(g);
  REQUIRE(fill(*g, m, d, error));
  REQUIRE(set_epoch(*g, 5, error));
  size_t entries_before = g->contents.policy_exact.size() + g->contents.policy.size();

  IpAddr ip = *IpAddr::parse("198.51.100.1");
  Endpoint learned = test::external(std::string(runtime::dns::kLearnedEndpointPrefix) + "198.51.100.1", "198.51.100.1",
                                    {"api.example.test"});
  std::set<IpAddr> in_maps;
  bool wrote = false;
  REQUIRE(write_learned(*g, m, d, {learned}, 6, in_maps, wrote, error));
  CHECK(wrote);
  CHECK(in_maps.count(ip));
  CHECK(g->dp->epoch() == 6u);
  CHECK(g->contents.policy_exact.size() + g->contents.policy.size() > entries_before);  // (a, learned) TCP 80
  abi::IpcacheKey key = bundle::ipcache_key(IpPrefix{ip, 32});
  uint32_t id = 0;
  REQUIRE(bpf_map_lookup_elem(g->dp->map_fd(abi::kMapHosts), &key, &id) == 0);
  CHECK(id >= abi::kFirstExternalIdentity);
  CHECK((id & abi::kIdentityZombie) == 0);
  // The node-wide update with the learned endpoint finds nothing to change: same identity,
  // same entries.
  d.add(learned);
  bool changed = true;
  REQUIRE(update_in_place(*g, m, d, 7, changed, error));
  CHECK_FALSE(changed);
  // Written again (a refresh): nothing to write, already in the maps.
  in_maps.clear();
  REQUIRE(write_learned(*g, m, d, {learned}, 7, in_maps, wrote, error));
  CHECK_FALSE(wrote);
  CHECK(in_maps.count(ip));

  // The name expired while a connection lives: the entry is marked, the identity kept.
  d.zombies = {ip};
  REQUIRE(update_in_place(*g, m, d, 7, changed, error));
  CHECK(changed);
  uint32_t zombie = 0;
  REQUIRE(bpf_map_lookup_elem(g->dp->map_fd(abi::kMapHosts), &key, &zombie) == 0);
  CHECK(zombie == (id | abi::kIdentityZombie));
  // A live answer again: written directly without the mark.
  d.zombies.clear();
  in_maps.clear();
  REQUIRE(write_learned(*g, m, d, {learned}, 8, in_maps, wrote, error));
  CHECK(wrote);
  REQUIRE(bpf_map_lookup_elem(g->dp->map_fd(abi::kMapHosts), &key, &zombie) == 0);
  CHECK(zombie == id);
  REQUIRE(update_in_place(*g, m, d, 9, changed, error));
  CHECK_FALSE(changed);

  // An address a pod holds is never taken over directly (the node-wide update decides).
  Endpoint b_addr = test::external(std::string(runtime::dns::kLearnedEndpointPrefix) + "10.0.0.2", "10.0.0.2",
                                   {"api.example.test"});
  in_maps.clear();
  REQUIRE(write_learned(*g, m, d, {b_addr}, 10, in_maps, wrote, error));
  CHECK_FALSE(wrote);
  CHECK(in_maps.empty());
}
