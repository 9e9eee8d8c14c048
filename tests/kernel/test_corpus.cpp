// Every example and every corpus policy moat accepts compiles and loads into the kernel
// (the verifier accepts all four programs); policies with L7 rules are refused with E701.
// The examples' cases files run through the kernel engine's runner and must hold.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "backend/backend.h"
#include "frontend/cases.h"
#include "frontend/frontend.h"
#include "ir/interp.h"
#include "kernel_env.h"
#include "runtime/flow_runner.h"
#include "runtime/loader.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> policy_files(const fs::path& root) {
  std::vector<std::string> out;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string ext = e.path().extension().string();
    std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.find("cases") != std::string::npos) continue;
    if (ext == ".moat" || ext == ".yaml" || ext == ".yml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Builds the bundle for `paths` and loads every object; returns false when moat does not
/// accept the sources (front-end errors), which is not this test's business.
struct Tally {
  size_t accepted = 0, refused_l7 = 0, with_tiers = 0, rejected = 0, objects = 0;
};

void build_and_load(const std::vector<std::string>& paths, Tally& t,
                    std::map<std::string, bool>& loaded_plans) {
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths(paths, sm, m, diags);
  if (diags.has_errors()) {
    ++t.rejected;
    return;
  }
  bool has_l7 = std::any_of(m.rules.begin(), m.rules.end(), [](const Rule& r) { return !r.http.empty(); });
  backend::BuildOutput out;
  std::string error;
  bool ok = backend::build_bundle(m, sm, out, diags, error);
  INFO(paths.front() << ": " << error);
  if (has_l7) {
    CHECK_FALSE(ok);
    CHECK(std::any_of(diags.all().begin(), diags.all().end(), [](const Diagnostic& d) { return d.code == Code::E701; }));
    ++t.refused_l7;
    return;
  }
  REQUIRE(ok);
  ++t.accepted;
  t.with_tiers += m.has_admin_tiers();  // AdminNetworkPolicy / BaselineAdminNetworkPolicy: built too
  for (size_t i = 0; i < out.objects.size(); ++i) {
    // Objects with the same code differ only in map sizes; load each distinct one once.
    std::string key = bundle::manifest_to_json(bundle::Manifest{}) + out.manifest.objects[i].sha256;
    if (loaded_plans.count(key)) continue;
    auto dp = runtime::Datapath::open(out.objects[i], {}, error);
    INFO("object " << out.manifest.objects[i].name << ": " << error);
    REQUIRE(dp);
    loaded_plans[key] = true;
    ++t.objects;
  }
}

} // namespace

TEST_CASE("corpus: every accepted policy compiles and loads into the kernel", "[kernel][corpus]") {
  MOAT_REQUIRE_KERNEL();
  Tally t;
  std::map<std::string, bool> loaded;
  for (const std::string& f : policy_files(MOAT_CORPUS_DIR)) build_and_load({f}, t, loaded);
  WARN("corpus: " << t.accepted << " built and loaded (" << t.objects << " distinct objects), " << t.refused_l7
                  << " refused for L7 rules, " << t.with_tiers << " of the built ones with admin tiers, " << t.rejected
                  << " not accepted by the front ends");
  CHECK(t.accepted > 50);
}

TEST_CASE("examples: compile, load, and their cases hold in the kernel", "[kernel][examples]") {
  MOAT_REQUIRE_KERNEL();
  fs::path root = fs::path(MOAT_SOURCE_DIR) / "examples";
  Tally t;
  std::map<std::string, bool> loaded;
  size_t cases_run = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    std::string name = e.path().filename().string();
    std::vector<std::string> sources;
    fs::path cases;
    if (e.is_directory()) {
      sources = {e.path().string()};
      for (const auto& f : fs::directory_iterator(e.path()))
        if (f.path().filename().string().find("cases") != std::string::npos) cases = f.path();
    } else if (e.path().extension() == ".moat") {
      sources = {e.path().string()};
      fs::path c = e.path();
      c.replace_extension(".cases.yaml");
      if (fs::exists(c)) cases = c;
    } else {
      continue;
    }
    INFO("example " << name);
    build_and_load(sources, t, loaded);
    if (cases.empty()) continue;
    SourceManager sm;
    Module m;
    Diagnostics diags;
    load_paths(sources, sm, m, diags);
    auto cf = load_cases(cases.string(), sm, diags);
    REQUIRE(cf);
    std::string error;
    auto runner = runtime::KernelFlowRunner::create(test::compile_for(m), m, cf->endpoints, {}, error);
    INFO(error);
    REQUIRE(runner);
    for (const Case& c : cf->cases) {
      const Endpoint* s = cf->find(c.from);
      const Endpoint* d = cf->find(c.to);
      REQUIRE(s);
      REQUIRE(d);
      auto k = runner->check(*s, *d, c.proto, c.port, error);
      INFO(c.from << " -> " << c.to << " " << to_string(c.proto) << "/" << c.port << " " << error);
      REQUIRE(k);
      INFO(k->detail);
      CHECK(k->allowed == c.allow);
      CHECK(k->attach_kinds_agree);
      if (k->allowed) CHECK(k->reply_passed);
      ++cases_run;
    }
  }
  CHECK(t.rejected == 0);
  CHECK(t.accepted >= 2);
  CHECK(cases_run > 0);
}

TEST_CASE("netpol-analyzer AdminNetworkPolicy cases: the kernel agrees with the interpreter on every pair",
          "[kernel][corpus][anp]") {
  MOAT_REQUIRE_KERNEL();
  // The interpreter matches these cases' golden connection lists (tests/workloads); here the
  // compiled datapath must give the interpreter's verdict for every ordered workload pair.
  size_t flows = 0;
  for (const char* name : {"anp_banp_blog_demo", "anp_test_4", "anp_test_ingress_egress_intersection"}) {
    INFO(name);
    fs::path dir = fs::path(MOAT_CORPUS_DIR) / "np-guard__netpol-analyzer" / "tests" / name;
    REQUIRE(fs::exists(dir));
    std::vector<std::string> files;
    for (const auto& f : fs::recursive_directory_iterator(dir)) {
      std::string ext = f.path().extension().string();
      if (f.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json") &&
          f.path().filename().string().find("connlist_output") == std::string::npos)
        files.push_back(f.path().string());
    }
    std::sort(files.begin(), files.end());
    SourceManager sm;
    Module m;
    Diagnostics diags;
    load_paths(files, sm, m, diags);
    REQUIRE_FALSE(diags.has_errors());
    REQUIRE(m.has_admin_tiers());
    std::vector<Endpoint> eps;
    for (const Endpoint& e : m.cluster_workloads) {
      if (e.kind != EndpointKind::Workload) continue;
      eps.push_back(e);
      // Distinct addresses (pods of Deployments have none in the YAML).
      eps.back().ips = {IpAddr::v4((10u << 24) | (250u << 16) | static_cast<uint32_t>(eps.size()))};
    }
    REQUIRE(eps.size() >= 2);
    std::string error;
    auto runner = runtime::KernelFlowRunner::create(test::compile_for(m), m, eps, {}, error);
    INFO(error);
    REQUIRE(runner);
    runner->explain = false;
    for (const Endpoint& s : eps)
      for (const Endpoint& d : eps) {
        if (&s == &d) continue;
        std::vector<std::pair<Protocol, uint16_t>> probes = {{Protocol::TCP, 80},   {Protocol::TCP, 8080},
                                                             {Protocol::TCP, 9090}, {Protocol::UDP, 53},
                                                             {Protocol::SCTP, 80},  {Protocol::TCP, 1}};
        for (const NamedPort& np : d.ports) probes.emplace_back(np.proto, np.port);
        for (auto [proto, port] : probes) {
          Verdict v = evaluate(m, Flow{&s, &d, proto, port});
          auto k = runner->check(s, d, proto, port, error);
          INFO(s.name << " -> " << d.name << " " << to_string(proto) << "/" << port << " " << error);
          REQUIRE(k);
          CHECK(k->attach_kinds_agree);
          CHECK(k->allowed == v.allowed);
          if (k->allowed) CHECK(k->reply_passed);
          ++flows;
        }
      }
  }
  CHECK(flows > 100);
}
