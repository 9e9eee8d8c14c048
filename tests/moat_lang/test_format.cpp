// moat fmt: canonical spacing and indentation, comments kept, idempotent, and the
// formatted text means the same thing (same IR) as the original.
#include <catch2/catch.hpp>

#include <random>

#include "frontend/moat/format_moat.h"
#include "ir/printer.h"
#include "tests/moat_lang/moat_lang_helpers.h"

using namespace moat;

namespace {
std::optional<std::string> fmt_text(const std::string& text, Diagnostics* out_diags = nullptr) {
  SourceManager sm;
  Diagnostics diags;
  FileId f = sm.add("f.moat", text);
  auto r = format_moat(f, sm, diags);
  if (out_diags) *out_diags = diags;
  return r;
}

/// The IR without source locations: formatting must not change meaning.
std::string meaning(const std::string& text) {
  auto p = test::parse(text, "m.moat");
  std::string out;
  for (const Diagnostic& d : p->diags.all()) out += std::string(code_name(d.code)) + " " + d.message + "\n";
  for (const Rule& r : p->module.rules)
    out += std::string(to_string(r.action)) + to_string(r.dir) + print_endpoint_selector(r.subject) +
           print_peer(r.peer) + print_ports(r.ports) + std::to_string(r.twin) + "\n";
  out += std::to_string(p->module.isolations.size()) + " " + std::to_string(p->module.pools.size()) + " " +
         std::to_string(p->module.proofs.size()) + " " + std::to_string(p->module.expects.size());
  return out;
}
} // namespace

TEST_CASE("fmt normalizes spacing, indentation and line breaks") {
  auto out = fmt_text(R"(namespace   kubeflow{default deny egress ;workload t={workload-type:training,k in[ b,a ,],!x};
      allow t->t on tcp 29400 .. 29600,udp 5;  allow t -> kube-system / { k8s-app : kube-dns } ;
peer alb=cidr 10.0.0.0 / 16 except 10.0.128.0/17,10.0.64.0/18;}
nodepool gpu{taint nvidia.com/gpu = true : NoSchedule;limits{cpu:500,memory:2000Gi,};label a=b;}
expect kubeflow/t->"x.com" on TCP 443 : allow;)");
  REQUIRE(out);
  CHECK(*out == R"(namespace kubeflow {
  default deny egress;
  workload t = { workload-type: training, k in [b, a], !x };
  allow t -> t on tcp 29400..29600, udp 5;
  allow t -> kube-system/{ k8s-app: kube-dns };
  peer alb = cidr 10.0.0.0/16 except 10.0.128.0/17, 10.0.64.0/18;
}
nodepool gpu {
  taint nvidia.com/gpu=true:NoSchedule;
  limits { cpu: 500, memory: 2000Gi }
  label a = b;
}
expect kubeflow/t -> "x.com" on tcp 443: allow;
)");
}

TEST_CASE("fmt keeps comments: leading, inner, trailing (aligned), and at the end") {
  auto out = fmt_text(R"(// header comment

/* block
   comment */ namespace a { // opens a
  workload w = {};   // the workload
  allow w -> world on tcp 443; // egress

  allow w /* inner */ -> w;
  // last in block
}   // closes a
// trailing file comment   )");
  REQUIRE(out);
  CHECK(*out == R"(// header comment

/* block
   comment */
namespace a { // opens a
  workload w = {};             // the workload
  allow w -> world on tcp 443; // egress

  /* inner */
  allow w -> w;
  // last in block
} // closes a
// trailing file comment
)");
}

TEST_CASE("fmt is idempotent and preserves meaning") {
  const char* inputs[] = {
      R"(namespace a{workload w={a:b};allow w->w;}  // x
/* y */ prove isolated namespace a,namespace b;)",
      R"(namespace a {


  default deny;    // two blank lines above become one
  allow * -> dns on udp 53;allow * -> world on tcp 443; /* two on one line */ allow * -> world on udp 443;
}


nodepool p { require k notin [a]; require !z; startup-taint a/b:NoExecute; admits a/{x: y}; }
prove a/{ x:y } egress within { dns, fqdn "*.x.com" on tcp 443, };
)",
      "",
      "// only a comment",
      "namespace a {}",
  };
  for (const char* in : inputs) {
    INFO(in);
    auto once = fmt_text(in);
    REQUIRE(once);
    auto twice = fmt_text(*once);
    REQUIRE(twice);
    CHECK(*twice == *once);
    CHECK(meaning(*once) == meaning(in));
  }
}

TEST_CASE("the example is in canonical form") {
  std::string path = std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.moat";
  std::string text = test::read_text(path);
  auto out = fmt_text(text);
  REQUIRE(out);
  CHECK(*out == text);
}

TEST_CASE("fmt refuses input that does not parse") {
  Diagnostics diags;
  CHECK_FALSE(fmt_text("namespace a { allow -> }", &diags));
  CHECK(diags.has_errors());
  CHECK(diags.all()[0].code == Code::E101);
  CHECK_FALSE(fmt_text(std::string("\xff\xfe", 2), &diags));
  CHECK(diags.all()[0].code == Code::E002);
}

TEST_CASE("fmt on mutated sources: no crash, whatever parses formats idempotently, same meaning") {
  const std::string base = test::read_text(std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.moat");
  const std::string alphabet = "{}[];:,/*-> .\n\"!=09az";
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int round = 0; round < 400; ++round) {
    std::string text = base;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      size_t at = rng() % text.size();
      switch (rng() % 6) {
      case 0: text.erase(at, 1 + rng() % 8); break;
      case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      case 2: text.insert(at, text.substr(rng() % text.size(), rng() % 40)); break;
      case 3: text.insert(at, " /* c */ "); break;   // comments anywhere, also inside statements
      case 4: text.insert(at, " // c\n"); break;
      default: {  // drop a newline: two statements or a comment and code on one line
        size_t nl = text.find('\n', at);
        if (nl != std::string::npos) text.erase(nl, 1);
      }
      }
    }
    INFO(text);
    auto once = fmt_text(text);
    if (!once) continue;
    ++parsed;
    auto twice = fmt_text(*once);
    REQUIRE(twice);
    CHECK(*twice == *once);
    CHECK(meaning(*once) == meaning(text));
  }
  CHECK(parsed > 40);  // the property was exercised, not skipped
}
