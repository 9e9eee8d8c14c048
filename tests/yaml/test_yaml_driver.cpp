// The YAML driver: multi-document files, lists, skipped kinds, and hostile input (syntax
// errors with positions, deep nesting, alias bombs, garbage) that must never crash.
#include "yaml_test_util.h"

#include "frontend/utf8.h"

#include <filesystem>
#include <fstream>
#include <random>

using namespace moat;
using namespace moat::test;

namespace {

const std::string kDenyAll = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {}\n";

} // namespace

TEST_CASE("multi-document files: a broken document does not hide the others", "[driver]") {
  std::string other = kDenyAll;
  other.replace(other.find("name: a"), 7, "name: b");  // one name twice would be E210
  auto p = parse(kDenyAll + "---\nkind: [\n---\n" + other);
  INFO(p->dump());
  CHECK(p->m.isolations.size() == 2);
  REQUIRE(p->count(Code::E201) == 1);
  CHECK(p->find(Code::E201)->range.line == 7);  // the line after `kind: [`, where the parser gives up
}

TEST_CASE("syntax errors carry the parser's position (1-based)", "[driver][errors]") {
  auto p = parse("apiVersion: v1\nkind: List\nitems:\n  - a: b\n   c: d\n");
  INFO(p->dump());
  REQUIRE(p->find(Code::E201) != nullptr);
  CHECK(p->find(Code::E201)->range.line == 5);
  auto tab = parse("a:\n\tb: c\n");
  CHECK(tab->find(Code::E201) != nullptr);
}

TEST_CASE("kind: List and typed lists are unwrapped", "[driver]") {
  auto p = parse(R"(apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: a, namespace: x}
  spec: {podSelector: {}}
- apiVersion: v1
  kind: Service
  metadata: {name: s}
)");
  INFO(p->dump());
  CHECK(p->m.isolations.size() == 1);
  CHECK(p->d.all().empty());  // a Service has no policy meaning: quiet
  auto typed = parse(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- metadata: {name: a, namespace: x}
  spec: {podSelector: {}}
)");
  INFO(typed->dump());
  CHECK(typed->m.isolations.size() == 1);
}

TEST_CASE("other kinds are skipped: quietly, or with a note under --verbose", "[driver]") {
  LoadOptions verbose;
  verbose.verbose = true;
  auto quiet = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {whatever: '1'}\n");
  CHECK(quiet->d.all().empty());
  auto p = parse_with("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {whatever: '1'}\n", verbose);
  REQUIRE(p->d.all().size() == 1);
  CHECK(p->has(Code::N005, 2, 7));
  CHECK(p->d.all()[0].severity == Severity::Note);
  CHECK_FALSE(p->d.has_errors());
  // Workloads are read (frontend/kube_objects.h): one without a pod template is W807.
  auto d = parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {whatever: 1}\n");
  CHECK(d->has(Code::W807, 4, 7));
  CHECK_FALSE(d->d.has_errors());
  // a NetworkPolicy of another API group (Calico) is not Kubernetes' NetworkPolicy, but
  // it is a policy whose absence from the verdicts the user must know about
  auto calico = parse("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c}\nspec: {}\n");
  CHECK(calico->has(Code::W212, 2, 7));
  CHECK(calico->m.isolations.empty());
  // a cases file next to the policies
  CHECK(parse("namespaces: {x: {}}\nexpect: []\n")->d.all().empty());
  auto cases = parse_with("namespaces: {x: {}}\nexpect: []\n", verbose);
  CHECK(cases->has(Code::N005, 1, 1));
}

TEST_CASE("objects without kind / apiVersion / name", "[driver][errors]") {
  CHECK(parse("metadata: {name: a}\n")->has(Code::E204, 1, 1));
  CHECK(parse("kind: NetworkPolicy\nmetadata: {name: a}\n")->has(Code::E204, 1, 1));
  CHECK(parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\n")->has(Code::E204, 3, 11));
  CHECK(parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n")->has(Code::E204, 1, 1));
  CHECK(parse("just a string\n")->has(Code::E202, 1, 1));
  CHECK(parse("- a\n- b\n")->has(Code::E202, 1, 1));
  CHECK(parse("apiVersion: v1\nkind: [List]\n")->has(Code::E202, 2, 7));
}

TEST_CASE("empty and comment-only documents are fine", "[driver]") {
  CHECK(parse("")->d.all().empty());
  CHECK(parse("# nothing\n---\n---\n")->d.all().empty());
  CHECK(parse(kDenyAll + "---\n")->d.all().empty());
}

TEST_CASE("duplicate keys are errors", "[driver][errors]") {
  auto p = parse(kDenyAll + "spec: {podSelector: {}}\n");
  CHECK(p->has(Code::E201, 5, 1));
}

TEST_CASE("deep nesting is refused past 256 levels", "[driver][hostile]") {
  std::string flow(20000, '[');
  auto p = parse("a: " + flow + "\n");
  REQUIRE(p->find(Code::E201) != nullptr);
  CHECK(p->find(Code::E201)->message.find("nesting too deep") != std::string::npos);

  std::string braces;
  for (int i = 0; i < 20000; ++i) braces += "{a: ";
  CHECK(parse(braces)->find(Code::E201) != nullptr);

  std::string dashes;
  for (int i = 0; i < 20000; ++i) dashes += "- ";
  CHECK(parse(dashes + "x\n")->find(Code::E201) != nullptr);

  std::string block;
  for (int i = 0; i < 3000; ++i) block += std::string(i, ' ') + "k:\n";
  CHECK(parse(block)->find(Code::E201) != nullptr);

  // brackets inside quotes, comments and block scalars do not count
  std::string quoted = "a: \"" + std::string(5000, '[') + "\"\nb: 1 # " + std::string(5000, '{') +
                       "\nc: |\n  " + std::string(5000, '[') + "\n";
  CHECK(parse(quoted)->find(Code::E201) == nullptr);
}

TEST_CASE("alias expansion is bounded", "[driver][hostile]") {
  // 1000 peers, referenced by 3000 rule items through one alias: 3 million rules from
  // 60 KB of text, unless the visit budget stops it.
  std::string bomb = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bomb}\nspec:\n"
                     "  egress: [{to: &l0 [";
  for (int k = 0; k < 1000; ++k) bomb += std::string(k ? ", " : "") + "{ipBlock: {cidr: 10.0.0.0/8}}";
  bomb += "]}]\n  ingress: [";
  for (int k = 0; k < 3000; ++k) bomb += std::string(k ? ", " : "") + "{from: *l0}";
  bomb += "]\n";
  auto p = parse(bomb);
  REQUIRE(p->find(Code::E201) != nullptr);
  CHECK(p->find(Code::E201)->message.find("aliases") != std::string::npos);
  CHECK(p->m.rules.size() < 400'000);
}

TEST_CASE("garbage never crashes", "[driver][hostile]") {
  std::mt19937 rng(1234);
  const std::string alphabet = "{}[]:,-?*&!|>'\"#%@`\n\t  abcXYZ019.";
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    size_t len = rng() % 200;
    for (size_t i = 0; i < len; ++i) {
      if (rng() % 16 == 0) text += static_cast<char>(rng() % 256);  // raw bytes, too
      else text += alphabet[rng() % alphabet.size()];
    }
    auto p = parse(text);
    (void)p;
  }
  SUCCEED("3000 random documents parsed without a crash or an exception");
}

TEST_CASE("mutated corpus files never crash", "[driver][hostile]") {
  namespace fs = std::filesystem;
  std::vector<std::string> texts;
  for (const char* rel : {"kubernetes__website/content/en/examples/service/networking/networkpolicy.yaml",
                          "cilium__cilium/examples/policies/l3/fqdn/fqdn.yaml",
                          "cilium__cilium/examples/policies/l4/icmp.yaml",
                          "aws-samples__karpenter-blueprints/blueprints/nvidia-gpu-workload/gpu-nodepool.yaml"}) {
    std::ifstream in(fs::path(MOAT_CORPUS_DIR) / rel);
    if (!in) continue;
    texts.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(texts.size() >= 3);
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string t = texts[rng() % texts.size()];
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      size_t pos = rng() % t.size();
      switch (rng() % 3) {
      case 0: t.erase(pos, 1 + rng() % 8); break;
      case 1: t.insert(pos, 1, "{}[]:-# \n\"'*&"[rng() % 14]); break;
      default: t[pos] = static_cast<char>(rng() % 128); break;
      }
      if (t.empty()) t = "x";
    }
    auto p = parse(t);
    for (const Diagnostic& d : p->d.all()) REQUIRE(d.range.known());
  }
}

TEST_CASE("load_paths reads a directory and skips the cases file", "[driver]") {
  SourceManager sm;
  Module m;
  Diagnostics d;
  load_paths({std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform-yaml"}, sm, m, d);
  std::string all;
  for (const Diagnostic& x : d.all()) all += sm.location(x.range) + " " + x.message + "\n";
  INFO(all);
  CHECK_FALSE(d.has_errors());
  CHECK(d.warning_count() == 0);
  CHECK(m.pools.size() == 1);
  CHECK(m.rules.size() >= 15);
}

TEST_CASE("text that is not strict UTF-8 is refused before parsing (fuzz/regressions)", "[driver][hostile]") {
  // F6 9E 8F 95 has the shape of a 4-byte sequence but encodes a code point past U+10FFFF;
  // load_paths used to pass it to yaml-cpp, and the bytes reached messages that
  // `moat check --format json` could not encode.
  SourceManager sm;
  Module m;
  Diagnostics d;
  load_paths({std::string(MOAT_SOURCE_DIR) + "/fuzz/regressions/fuzz_yaml/utf8-past-10ffff.yaml"}, sm, m, d);
  REQUIRE(d.all().size() == 1);
  CHECK(d.all()[0].code == Code::E002);
  CHECK(d.all()[0].range.line == 1);
  CHECK(d.all()[0].range.col == 1);
}

namespace {

/// The UTF-8 rule of frontend/utf8.h one byte at a time, without the 8-byte ASCII skip:
/// the reference the fast path must agree with.
size_t reference_first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (c == 0 || len == 0 || i + len > s.size() || c == 0xC0 || c == 0xC1 || c > 0xF4) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return i;
    auto c1 = len > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (len == 3 && ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))) return i;
    if (len == 4 && ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))) return i;
    i += len;
  }
  return std::string_view::npos;
}

} // namespace

TEST_CASE("first_invalid_utf8: the 8-byte ASCII skip finds the same byte as a byte-by-byte check", "[driver][hostile]") {
  // Mostly ASCII text (what the skip is for) with a bad or multi-byte sequence at every
  // offset and alignment, NUL included: a skip that steps over a NUL, a high byte or a
  // sequence split across its 8 bytes answers a different offset.
  const std::vector<std::string> inserts = {std::string(1, '\0'), "\x80", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                                            "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xFF", "\x7F"};
  std::mt19937 rng(7);
  size_t bad = 0;
  for (const std::string& ins : inserts) {
    for (size_t len = 0; len < 40; ++len) {
      for (size_t at = 0; at <= len; ++at) {
        std::string s(len, 'a');
        for (char& c : s) c = static_cast<char>('a' + rng() % 26);
        s.insert(at, ins);
        size_t want = reference_first_invalid_utf8(s);
        if (want != std::string_view::npos) ++bad;
        INFO("insert of " << ins.size() << " byte(s) at " << at << " of " << len);
        REQUIRE(first_invalid_utf8(s) == want);
        // The same text seen from every starting alignment.
        for (size_t skip = 1; skip < 8 && skip < s.size(); ++skip)
          REQUIRE(first_invalid_utf8(std::string_view(s).substr(skip)) ==
                  reference_first_invalid_utf8(std::string_view(s).substr(skip)));
      }
    }
  }
  CHECK(bad > 1000);  // the inputs do hold invalid text
  CHECK(first_invalid_utf8("apiVersion: v1\nkind: Namespace\n") == std::string_view::npos);
}
