// load_paths as directory walks see it: *.json beside *.yaml (kubectl's JSON output, a List
// included), --exclude globs (relative path or basename), the --max-file-size limit and its
// SIZE syntax.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "frontend/frontend.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/moat-load-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path / rel).parent_path());
    std::ofstream(path / rel) << text;
  }
};

struct Loaded {
  SourceManager sm;
  Module m;
  Diagnostics d;
  std::set<std::string> files() const {
    std::set<std::string> out;
    for (FileId f = 0; f < sm.size(); ++f) out.insert(sm.path(f));
    return out;
  }
  size_t count(Code c) const {
    size_t n = 0;
    for (const Diagnostic& x : d.all()) n += x.code == c;
    return n;
  }
};

std::unique_ptr<Loaded> load(const std::vector<std::string>& paths, const LoadOptions& opts = {}) {
  auto l = std::make_unique<Loaded>();
  load_paths(paths, l->sm, l->m, l->d, opts);
  return l;
}

std::string policy_yaml(const std::string& name) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name +
         ", namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n";
}

/// `kubectl get networkpolicies -o json` of two policies: a List whose items are objects.
constexpr const char* kKubectlJsonList = R"({
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "a", "namespace": "x", "resourceVersion": "17", "uid": "6c1f"},
            "spec": {"podSelector": {"matchLabels": {"app": "a"}},
                     "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 80, "protocol": "TCP"}]}],
                     "policyTypes": ["Ingress"]}
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "b", "namespace": "x"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        }
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}
)";

} // namespace

TEST_CASE("directory walks read *.json next to *.yaml, and a kubectl JSON List", "[inputs]") {
  TempDir dir;
  dir.write("list.json", kKubectlJsonList);
  dir.write("one.yaml", policy_yaml("c"));
  dir.write("notes.txt", "not a policy");
  auto l = load({dir.path.string()});
  INFO(l->d.all().size());
  CHECK(!l->d.has_errors());
  CHECK(l->files() == std::set<std::string>{(dir.path / "list.json").string(), (dir.path / "one.yaml").string()});
  // a: 1 allow rule; b: no rules; c: 1 allow rule. Isolations: a ingress, b both, c ingress.
  CHECK(l->m.rules.size() == 2);
  CHECK(l->m.isolations.size() == 4);
}

TEST_CASE("a JSON document with tabs and no trailing newline loads", "[inputs]") {
  TempDir dir;
  dir.write("tabs.json", "{\n\t\"apiVersion\": \"networking.k8s.io/v1\",\n\t\"kind\": \"NetworkPolicy\",\n"
                         "\t\"metadata\": {\"name\": \"t\", \"namespace\": \"x\"},\n\t\"spec\": {\"podSelector\": {}}\n}");
  auto l = load({(dir.path / "tabs.json").string()});
  CHECK(!l->d.has_errors());
  CHECK(l->m.isolations.size() == 1);
}

TEST_CASE("exclude globs skip by path relative to the walked directory or by basename", "[inputs]") {
  TempDir dir;
  dir.write("keep.yaml", policy_yaml("keep"));
  dir.write("vendor/a.yaml", policy_yaml("va"));
  dir.write("charts/x/templates/b.yaml", policy_yaml("cb"));
  dir.write("charts/x/values.yaml", "replicas: 3\n");
  dir.write("skip-me.yaml", policy_yaml("skip"));
  LoadOptions opts;
  opts.exclude = {"vendor", "charts/*/values.yaml", "skip-*"};
  auto l = load({dir.path.string()}, opts);
  CHECK(!l->d.has_errors());
  CHECK(l->files() == std::set<std::string>{(dir.path / "keep.yaml").string(),
                                            (dir.path / "charts/x/templates/b.yaml").string()});

  SECTION("a file named on the command line is read even when a glob matches it") {
    auto named = load({(dir.path / "skip-me.yaml").string()}, opts);
    CHECK(named->files().size() == 1);
    CHECK(named->m.rules.size() == 1);
  }
}

TEST_CASE("max-file-size: larger files are E003, the default admits a 100k-policy dump", "[inputs]") {
  TempDir dir;
  std::string text = policy_yaml("big") + "# " + std::string(3000, 'x') + "\n";
  dir.write("big.yaml", text);
  LoadOptions small;
  small.max_file_bytes = 2048;
  auto refused = load({(dir.path / "big.yaml").string()}, small);
  REQUIRE(refused->count(Code::E003) == 1);
  CHECK(refused->d.all()[0].message.find("--max-file-size") != std::string::npos);
  CHECK(refused->m.rules.empty());

  auto read = load({(dir.path / "big.yaml").string()});
  CHECK(!read->d.has_errors());
  CHECK(read->m.rules.size() == 1);
  // ~2 KB per policy in `kubectl get networkpolicies -A -o yaml`: 100k policies fit.
  CHECK(kDefaultMaxFileBytes >= uint64_t{100'000} * 2048);
}

TEST_CASE("SIZE values: K, M, G are powers of 1024, junk and zero are refused", "[inputs]") {
  CHECK(parse_size("1000") == uint64_t{1000});
  CHECK(parse_size("64K") == uint64_t{64} << 10);
  CHECK(parse_size("64KiB") == uint64_t{64} << 10);
  CHECK(parse_size("512M") == uint64_t{512} << 20);
  CHECK(parse_size("512mb") == uint64_t{512} << 20);
  CHECK(parse_size("2G") == uint64_t{2} << 30);
  CHECK(parse_size("10B") == uint64_t{10});
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("0"));
  CHECK_FALSE(parse_size("M"));
  CHECK_FALSE(parse_size("12X"));
  CHECK_FALSE(parse_size("-5M"));
  CHECK_FALSE(parse_size("1.5G"));
  CHECK_FALSE(parse_size("99999999999999G"));
}
