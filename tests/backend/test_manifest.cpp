// The bundle on disk: manifest JSON round trip, atomic writes, hash checks on read.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "backend/bundle/manifest.h"
#include "backend/bundle/sha256.h"
#include "ir/interp.h"
#include "random_module.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("moat-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  return p;
}

bundle::Manifest sample_manifest(uint64_t seed) {
  testing::RandomModules gen(seed);
  bundle::Manifest m;
  m.policy = gen.module(20, 4);
  m.policy.namespaces.clear();
  if (seed % 2 == 0) gen.add_tiers(m.policy, 4, 3);  // admin and baseline rules, `networks` peers
  if (seed % 4 == 0) gen.add_node_peers(m.policy, 0.8);  // ... and `nodes` peers
  for (const Rule& r : m.policy.rules) m.origins.push_back({r.id, "test", "f.moat:1:1"});
  m.sources.push_back({"f.moat", bundle::sha256_hex("x")});
  m.objects.push_back({"default", "default.bpf.o", "", bundle::plan_datapath(m.policy)});
  bundle::PoolEntry pool;
  pool.name = "gpu";
  pool.object = "default";
  pool.taints.push_back({"nvidia.com/gpu", "true", "NoSchedule", {}});
  pool.admits.push_back(gen.selector());
  m.pools.push_back(pool);
  return m;
}

} // namespace

TEST_CASE("manifest: JSON round trip keeps the policy's meaning", "[backend]") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    bundle::Manifest m = sample_manifest(seed);
    std::string text = bundle::manifest_to_json(m);
    std::string error;
    auto back = bundle::manifest_from_json(text, error);
    INFO(error);
    REQUIRE(back);
    CHECK(bundle::manifest_to_json(*back) == text);
    // Same verdicts on random flows: the selector form loses nothing the datapath needs.
    testing::RandomModules gen(seed * 31);
    std::vector<Endpoint> eps = gen.endpoints(m.policy, 10);
    gen.add_node_labels(eps);
    for (int i = 0; i < 50; ++i) {
      const Endpoint& s = eps[gen.pick(eps.size())];
      const Endpoint& d = eps[gen.pick(eps.size())];
      auto [proto, port] = gen.proto_port(m.policy, d);
      CHECK(evaluate(m.policy, Flow{&s, &d, proto, port}).allowed ==
            evaluate(back->policy, Flow{&s, &d, proto, port}).allowed);
    }
  }
}

TEST_CASE("manifest: big manifests (streamed, one line) round trip too", "[backend]") {
  testing::RandomModules gen(99);
  bundle::Manifest m;
  m.policy = gen.module(3000, 3);
  m.policy.namespaces.clear();
  gen.add_tiers(m.policy, 5, 2);
  // Policy-tier CIDR peers that match cluster addresses too (a CNI profile's ipBlock).
  for (Rule& r : m.policy.rules)
    if (r.peer.kind == Peer::Kind::Cidr && r.id % 2) r.peer.cidr_any_address = true;
  for (const Rule& r : m.policy.rules) m.origins.push_back({r.id, "o\"rigin", "f.moat:2:3"});
  m.objects.push_back({"default", "default.bpf.o", "", bundle::plan_datapath(m.policy)});
  std::string text = bundle::manifest_to_json(m);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  std::string error;
  auto back = bundle::manifest_from_json(text, error);
  INFO(error);
  REQUIRE(back);
  CHECK(bundle::manifest_to_json(*back) == text);
  REQUIRE(back->policy.rules.size() == 3000);
  CHECK(back->policy.admin_rules.size() == 5);
  CHECK(back->policy.baseline_rules.size() == 2);
  CHECK(back->origins[7].origin == "o\"rigin");
  std::vector<Endpoint> eps = gen.endpoints(m.policy, 10);
  for (int i = 0; i < 200; ++i) {
    const Endpoint& s = eps[gen.pick(eps.size())];
    const Endpoint& d = eps[gen.pick(eps.size())];
    auto [proto, port] = gen.proto_port(m.policy, d);
    CHECK(evaluate(m.policy, Flow{&s, &d, proto, port}).allowed == evaluate(back->policy, Flow{&s, &d, proto, port}).allowed);
  }
}

TEST_CASE("manifest: malformed input is an error, not a crash", "[backend]") {
  std::string error;
  CHECK_FALSE(bundle::manifest_from_json("{", error));
  CHECK_FALSE(bundle::manifest_from_json("{\"format_version\": 99}", error));
  CHECK(error.find("version") != std::string::npos);
  std::string text = bundle::manifest_to_json(sample_manifest(3));
  std::string bad = text;
  bad.replace(bad.find("\"subject\": "), 12, "\"subject\": 99999");
  CHECK_FALSE(bundle::manifest_from_json(bad, error));
}

TEST_CASE("bundle: written atomically, read back with hash checks", "[backend]") {
  fs::path dir = scratch("bundle");
  bundle::Manifest m = sample_manifest(5);
  std::vector<std::vector<uint8_t>> objects = {{1, 2, 3, 4}};
  std::string error;
  REQUIRE(bundle::write_bundle(dir.string(), m, objects, error));
  auto b = bundle::read_bundle(dir.string(), error);
  INFO(error);
  REQUIRE(b);
  REQUIRE(b->object_bytes("default"));
  CHECK(*b->object_bytes("default") == objects[0]);
  CHECK(b->manifest.object_for_pool("gpu")->name == "default");
  CHECK(b->manifest.object_for_pool("unknown")->name == "default");

  // Rewriting replaces the bundle; no temporary directories are left behind.
  objects[0] = {9, 9};
  REQUIRE(bundle::write_bundle(dir.string(), m, objects, error));
  b = bundle::read_bundle(dir.string(), error);
  REQUIRE(b);
  CHECK(*b->object_bytes("default") == objects[0]);
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    CHECK(e.path().filename().string().find(".moat-test-bundle") == std::string::npos);

  // A tampered object is refused.
  std::ofstream(dir / "default.bpf.o", std::ios::binary) << "evil";
  CHECK_FALSE(bundle::read_bundle(dir.string(), error));
  CHECK(error.find("sha256") != std::string::npos);

  // A non-empty directory that is not a bundle is never replaced.
  fs::path other = scratch("other");
  fs::create_directories(other);
  std::ofstream(other / "precious.txt") << "keep";
  CHECK_FALSE(bundle::write_bundle(other.string(), m, objects, error));
  CHECK(fs::exists(other / "precious.txt"));
  fs::remove_all(dir);
  fs::remove_all(other);
}

TEST_CASE("manifest: the CNI profile and a CIDR peer's any_address round trip", "[backend][cni]") {
  bundle::Manifest m = sample_manifest(7);
  m.cni = CniProfile::Calico;
  Rule r;
  r.id = static_cast<uint32_t>(m.policy.rules.size());
  r.dir = Direction::Egress;
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *IpPrefix::parse("10.244.0.0/16");
  r.peer.except.push_back(*IpPrefix::parse("10.244.0.2/32"));
  r.peer.cidr_any_address = true;
  m.policy.rules.push_back(r);
  m.origins.push_back({r.id, "NetworkPolicy x/egress", "p.yaml:1:1"});
  std::string text = bundle::manifest_to_json(m);
  CHECK(text.find("\"calico\"") != std::string::npos);
  std::string error;
  auto back = bundle::manifest_from_json(text, error);
  INFO(error);
  REQUIRE(back);
  CHECK(back->cni == CniProfile::Calico);
  CHECK(back->policy.rules.back().peer.cidr_any_address);
  CHECK(back->policy.rules.back().peer.except.size() == 1);
  CHECK(bundle::manifest_to_json(*back) == text);
}

TEST_CASE("manifest: one written before profiles (no cni) reads as the default and an unknown one is refused",
          "[backend][cni]") {
  std::string text = bundle::manifest_to_json(sample_manifest(8));
  size_t at = text.find("\"cni\"");
  REQUIRE(at != std::string::npos);
  std::string old = text;
  old.erase(at, old.find(',', at) + 1 - at);  // the key, its value and the comma
  std::string error;
  auto back = bundle::manifest_from_json(old, error);
  INFO(error);
  REQUIRE(back);
  CHECK(back->cni == kDefaultCniProfile);
  std::string bad = text;
  bad.replace(bad.find("\"cilium\"", at), std::string("\"cilium\"").size(), "\"weave\"");
  CHECK_FALSE(bundle::manifest_from_json(bad, error));
  CHECK(error.find("weave") != std::string::npos);
}
