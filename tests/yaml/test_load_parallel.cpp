// load_paths parses YAML files on several threads and merges them in file order: with one
// thread or four, the Module, the diagnostics (order, content, notes) and the counts must
// be the same, including everything that spans files (duplicate objects E210, equal
// AdminNetworkPolicy priorities W220, a Deployment whose Namespace is in another file,
// the error limit) and a .moat file between YAML files.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "frontend/frontend.h"
#include "ir/printer.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

std::string network_policy(const std::string& name, const std::string& ns, const std::string& extra_meta = "") {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\n" + extra_meta +
         "spec:\n  podSelector: {matchLabels: {app: " + name + "}}\n  policyTypes: [Ingress]\n"
         "  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: client}}\n    ports:\n    - {port: 8080}\n"
         "  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8}\n";  // ignored (policyTypes): W208
}

std::string admin_policy(const std::string& name, int priority) {
  return "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: " + name +
         "}\nspec:\n  priority: " + std::to_string(priority) +
         "\n  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from:\n    - namespaces: {matchLabels: {team: " +
         name + "}}\n";
}

const std::string kBaseline =
    "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\n"
    "spec:\n  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n";

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

/// A directory of policy files with something in it for each cross-file rule.
fs::path make_tree(const std::string& name, bool saturate) {
  fs::path dir = fs::temp_directory_path() / ("moat-load-parallel-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  for (int i = 0; i < 24; ++i) {
    std::string text;
    for (int j = 0; j < 6; ++j) text += (j ? "---\n" : "") + network_policy("np-" + std::to_string(i) + "-" + std::to_string(j), "ns" + std::to_string(i % 5));
    char file[16];
    std::snprintf(file, sizeof file, "p%02d.yaml", i);
    write(dir / (i % 3 == 0 ? fs::path("sub") / file : fs::path(file)), text);
  }
  // E210 across files: np-2-1 of ns2 again, and a second baseline policy.
  write(dir / "p05b.yaml", network_policy("np-2-1", "ns2") + "---\n" + network_policy("fresh", "ns2"));
  write(dir / "p09b.yaml", kBaseline + "---\n" + network_policy("np-9-x", "ns4"));
  write(dir / "p12b.yaml", kBaseline);
  // W220 across files (and the admin tier ordered by priority over every file).
  write(dir / "p03b.yaml", admin_policy("a-ten", 10) + "---\n" + admin_policy("a-twenty", 20));
  write(dir / "p07b.yaml", admin_policy("b-ten", 10));
  write(dir / "p08b.yaml", admin_policy("c-five", 5));
  // Broken files: a syntax error, a byte that is not UTF-8, an unread policy kind (W212).
  write(dir / "p11b.yaml", network_policy("ok-before", "ns1") + "---\nkind: [\n");
  write(dir / "p13b.yaml", network_policy("latin1", "ns1") + "# caf\xe9\n");
  write(dir / "p15b.yaml", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {}\n");
  // A warning switched off by its object (moat.dev/disable) and one that is not.
  write(dir / "p16b.yaml", network_policy("quiet", "ns3", "  annotations: {moat.dev/disable: W208}\n") + "---\n" +
                               network_policy("loud", "ns3"));
  // A Deployment here, its Namespace in a later file.
  write(dir / "p14b.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n"
                           "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
                           "    spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 80}]}]}\n");
  write(dir / "p19b.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {tier: front}}\n");
  // Larger than the limit the second run sets (E003, reported in its file's turn).
  std::string big;
  for (int j = 0; j < 40; ++j) big += (j ? "---\n" : "") + network_policy("big-" + std::to_string(j), "ns0");
  write(dir / "p06c.yaml", big);
  // The moat language between YAML files (its rules have twins).
  fs::copy_file(fs::path(MOAT_SOURCE_DIR) / "examples/ml-platform.moat", dir / "p10b.moat");
  if (saturate) {
    // 150 + 80 errors: the limit (200) is reached inside the second file; later files add nothing.
    for (auto [file, n] : {std::pair{"p21b.yaml", 150}, std::pair{"p22b.yaml", 80}}) {
      std::string text;
      for (int j = 0; j < n; ++j) text += (j ? "---\n" : "") + network_policy("Bad_" + std::to_string(j), "ns1");
      write(dir / file, text);
    }
  }
  return dir;
}

std::string where(const SourceManager& sm, const SourceRange& r) {
  std::string loc = sm.location(r);
  size_t slash = loc.rfind('/');
  return slash == std::string::npos ? loc : loc.substr(slash + 1);
}

std::string load(const std::vector<std::string>& sets, const char* jobs, const LoadOptions& opts = {}) {
  const char* before = std::getenv("MOAT_JOBS");
  std::string saved = before ? before : "";
  setenv("MOAT_JOBS", jobs, 1);
  SourceManager sm;
  Module m;
  Diagnostics d;
  for (const std::string& set : sets) load_paths({set}, sm, m, d, opts);  // several loads into one module
  if (before) setenv("MOAT_JOBS", saved.c_str(), 1);
  else unsetenv("MOAT_JOBS");
  std::string out;
  for (const Diagnostic& x : d.all()) {
    out += where(sm, x.range) + ": " + std::string(code_name(x.code)) + " " + std::to_string(int(x.severity)) + ": " +
           x.message + "\n";
    for (const DiagNote& n : x.notes) out += "  note " + where(sm, n.range) + ": " + n.message + "\n";
  }
  out += "errors " + std::to_string(d.error_count()) + " warnings " + std::to_string(d.warning_count()) +
         " suppressed " + std::to_string(d.suppressed()) + "\n";
  out += print_module(m, sm);
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

} // namespace

TEST_CASE("load_paths gives the same module and diagnostics with one thread or several", "[driver][parallel]") {
  fs::path dir = make_tree("one", false);
  std::string serial = load({dir.string()}, "1");
  std::string parallel = load({dir.string()}, "4");
  CHECK(serial == parallel);
  // The tree exercises what it should (else the comparison proves little).
  CHECK(count(serial, ": E210 ") == 2);
  CHECK(count(serial, "note p02.yaml:") == 1);  // E210's note points at the first one
  CHECK(count(serial, ": W220 ") == 1);
  CHECK(count(serial, ": E201 ") == 1);
  CHECK(count(serial, ": E002 ") == 1);
  CHECK(count(serial, ": W212 ") == 1);
  CHECK(serial.find("cluster workload shop/web[Deployment]") != std::string::npos);
  CHECK(serial.find("suppressed 1") != std::string::npos);
  CHECK(serial.find("twin #") != std::string::npos);
  CHECK(serial.find("admin rule #0 priority 5") != std::string::npos);

  // Codes switched off by the caller reach every file's part; a file over the size limit.
  LoadOptions quiet;
  quiet.disabled = {Code::W212, Code::W208};
  quiet.max_file_bytes = 8192;
  std::string q1 = load({dir.string()}, "1", quiet), q4 = load({dir.string()}, "4", quiet);
  CHECK(q1 == q4);
  CHECK(count(q1, ": W212 ") == 0);
  CHECK(count(q1, ": W208 ") == 0);
  CHECK(count(q1, ": E003 ") == 1);
  CHECK(q1.find("p06c.yaml:1:1: E003") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("parallel load: the error limit and a second load into the same module", "[driver][parallel]") {
  fs::path a = make_tree("sat", true), b = make_tree("two", false);
  std::string serial = load({b.string(), a.string()}, "1");
  std::string parallel = load({b.string(), a.string()}, "4");
  CHECK(serial == parallel);
  size_t errors = std::stoul(serial.substr(serial.find("errors ") + 7));
  CHECK(errors >= Diagnostics::kMaxErrors);  // the limit was reached in the second tree
  CHECK(count(serial, ": E213 ") >= 150);
  // Files after the limit add nothing: p23.yaml's rules are the first tree's only.
  CHECK(count(serial, "@p23.yaml") == count(load({b.string()}, "1"), "@p23.yaml"));
  CHECK(count(serial, "@p23.yaml") > 0);
  fs::remove_all(a);
  fs::remove_all(b);
}

namespace {

std::string diagnostics_text(const Diagnostics& d, const SourceManager& sm) {
  std::string out;
  for (const Diagnostic& x : d.all()) {
    out += sm.location(x.range) + ": " + std::string(code_name(x.code)) + ": " + x.message + "\n";
    for (const DiagNote& n : x.notes) out += "  note " + sm.location(n.range) + ": " + n.message + "\n";
  }
  return out + "errors " + std::to_string(d.error_count()) + " suppressed " + std::to_string(d.suppressed()) + "\n";
}

/// Both versions loaded as `moat diff` does (files shared by the versions parsed once) and
/// each on its own (parse_policy_files): the same modules, field by field, and diagnostics.
/// With `apart`, each version has its own collector (and the merges run at the same time).
void same_as_separate_loads(const fs::path& old_dir, const fs::path& new_dir, const LoadOptions& old_opts,
                            const LoadOptions& new_opts, bool apart = false) {
  SourceManager sm1, sm2;
  Module old1, new1, old2, new2;
  Diagnostics d1, d2, d1_new, d2_new;
  PolicyFiles o1 = read_policy_paths({old_dir.string()}, sm1, old_opts);
  PolicyFiles n1 = read_policy_paths({new_dir.string()}, sm1, new_opts);
  parse_policy_files(std::move(o1), sm1, old1, d1, old_opts);
  parse_policy_files(std::move(n1), sm1, new1, apart ? d1_new : d1, new_opts);
  PolicyVersion o2{read_policy_paths({old_dir.string()}, sm2, old_opts), old_dir.string(), old_opts};
  PolicyVersion n2{read_policy_paths({new_dir.string()}, sm2, new_opts), new_dir.string(), new_opts};
  parse_policy_versions(std::move(o2), std::move(n2), sm2, old2, d2, new2, apart ? d2_new : d2);
  CHECK(old1 == old2);
  CHECK(new1 == new2);
  CHECK(diagnostics_text(d1, sm1) == diagnostics_text(d2, sm2));
  CHECK(diagnostics_text(d1_new, sm1) == diagnostics_text(d2_new, sm2));
  // The new version's rules point at the new version's files.
  REQUIRE(!new2.rules.empty());
  CHECK(sm2.path(new2.rules.back().range.file).rfind(new_dir.string(), 0) == 0);
}

} // namespace

TEST_CASE("parse_policy_versions: files both versions share parsed once, the same as two loads", "[driver][parallel]") {
  fs::path old_dir = make_tree("vold", false);
  fs::path new_dir = old_dir.string() + "-new";
  fs::remove_all(new_dir);
  fs::copy(old_dir, new_dir, fs::copy_options::recursive);
  // One file edited, one gone, one new; the rest (warnings, E210 across files, W220, the
  // moat file, the broken files) are byte-identical.
  write(new_dir / "p04.yaml", network_policy("np-4-edited", "ns4"));
  fs::remove(new_dir / "p08b.yaml");
  write(new_dir / "p30.yaml", network_policy("np-30", "ns0"));
  same_as_separate_loads(old_dir, new_dir, {}, {});
  same_as_separate_loads(old_dir, new_dir, {}, {}, true);
  // A trailing slash on a root names the same files.
  same_as_separate_loads(old_dir.string() + "/", new_dir, {}, {});
  // Other options (--cni for the old version): nothing is shared, still the same.
  LoadOptions calico;
  calico.cni = CniProfile::Calico;
  same_as_separate_loads(old_dir, new_dir, calico, {});
  same_as_separate_loads(old_dir, new_dir, calico, {}, true);
  // One file against itself (the root is the file).
  same_as_separate_loads(old_dir / "p02.yaml", old_dir / "p02.yaml", {}, {});
  // Versions past the error limit, each with its own collector, and without a .moat file
  // (the merges then run at the same time).
  fs::path sat = make_tree("vsat", true);
  fs::remove(sat / "p10b.moat");
  fs::remove(new_dir / "p10b.moat");
  same_as_separate_loads(sat, new_dir, {}, {}, true);
  same_as_separate_loads(new_dir, sat, {}, {}, true);
  fs::remove_all(sat);
  fs::remove_all(old_dir);
  fs::remove_all(new_dir);
}
