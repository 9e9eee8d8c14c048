// Hostile inputs: deep nesting, binary bytes, printable garbage, huge files. Each must end
// in diagnostics (or a clean parse), never a crash, a hang or an unbounded error list.
#include <catch2/catch.hpp>

#include <random>

#include <fmt/format.h>

#include "frontend/moat/format_moat.h"
#include "tests/moat_lang/moat_lang_helpers.h"

using namespace moat;
using moat::test::first_diag;
using moat::test::parse;

TEST_CASE("20,000 nested braces: E104 at the first brace past the limit, no stack overflow") {
  auto p = parse(std::string(20000, '{'));
  REQUIRE(p->diags.all().size() == 1);
  CHECK(first_diag(*p) == "1:257 E104");
  auto q = parse("namespace a { workload w = " + std::string(20000, '[') + std::string(20000, ']') + "; }");
  CHECK(first_diag(*q) == "1:283 E104");
  // Nested namespace blocks are the one recursive construct; the cap keeps them shallow.
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "namespace a {\n";
  auto r = parse(nested);
  CHECK(first_diag(*r) == "257:13 E104");
  // The formatter goes through the same check.
  SourceManager sm;
  Diagnostics d;
  FileId f = sm.add("deep.moat", std::string(20000, '{'));
  CHECK_FALSE(format_moat(f, sm, d).has_value());
  CHECK(d.all().at(0).code == Code::E104);
}

TEST_CASE("nesting up to the limit is accepted by the checker and handled by the parser") {
  // 256 nested namespace blocks: within the depth cap, so the parser runs (and the front end
  // reports the nesting as misplaced blocks, not as a crash).
  std::string text;
  for (int i = 0; i < 256; ++i) text += "namespace a {";
  text += std::string(256, '}');
  auto p = parse(text);
  REQUIRE_FALSE(p->diags.all().empty());
  CHECK(p->diags.all()[0].code == Code::E105);
}

TEST_CASE("random binary bytes: a located E002, nothing else") {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::string bytes(1 + rng() % 4096, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto p = parse(bytes);
    REQUIRE(p->diags.all().size() >= 1);
    CHECK(p->diags.all().size() <= Diagnostics::kMaxErrors);
    CHECK(p->diags.has_errors());
  }
  auto p = parse(std::string("namespace a {}\nab\xff\xfe", 19));
  CHECK(first_diag(*p) == "2:3 E002");
  CHECK(first_diag(*parse(std::string("a\0b", 3))) == "1:2 E002");
}

TEST_CASE("printable garbage: syntax errors stop after a bounded number") {
  std::mt19937 rng(7);
  const std::string alphabet = "abc{}[];:,/*->.. \n\"0123456789=!allow deny namespace";
  for (int round = 0; round < 20; ++round) {
    std::string text(20000, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    auto p = parse(text);
    CHECK(p->diags.error_count() <= 25);
  }
  // Valid UTF-8 outside ASCII: columns are bytes, not code points.
  auto u = parse("namespace a { // ünïcödé\n  allow é -> x; }");
  CHECK(first_diag(*u) == "2:9 E101");
}

TEST_CASE("a 5 MB valid file parses (linear, not quadratic)") {
  std::string text;
  text.reserve(5u << 20);
  int n = 0;
  while (text.size() < (5u << 20)) {
    text += fmt::format("namespace ns{} {{\n  default deny;\n  workload w = {{ app: a{}, tier in [x, y] }};\n", n, n);
    text += fmt::format("  allow w -> ns{}/{{ app: b }}, fqdn \"*.s{}.example.com\" on tcp 443, udp 1000..2000;\n", n + 1, n);
    text += "  // a comment\n}\n";
    ++n;
  }
  auto p = parse(text, "big.moat");
  REQUIRE(p->diags.all().empty());
  CHECK(p->module.rules.size() == static_cast<size_t>(3 * n));
  CHECK(p->module.isolations.size() == static_cast<size_t>(2 * n));
}

TEST_CASE("files over the size limit are refused") {
  auto p = parse(std::string((16u << 20) + 1, ' '));
  CHECK(first_diag(*p) == "1:1 E003");
}

TEST_CASE("a UTF-8 byte order mark is skipped: names, ranges and fmt are right (fuzz/regressions)") {
  // ANTLR drops the BOM from its code points; the byte offsets of every token used to be
  // one code point off, so names lost a letter and `moat fmt` rewrote comments.
  const std::string bom = "\xEF\xBB\xBF";
  const std::string text = "namespace prod {\n  workload web = { app: web };\n  allow web -> { app: db } on tcp 5432;\n}\n";
  auto p = parse(bom + text);
  CHECK(moat::test::diag_lines(*p) == moat::test::diag_lines(*parse(text)));
  REQUIRE(p->module.workloads.size() == 1);
  CHECK(p->module.workloads[0].ns == "prod");
  CHECK(p->module.workloads[0].name == "web");
  CHECK(first_diag(*parse(bom + "namespace a { allow nosuch -> x; }")) == "1:24 E102");

  SourceManager sm;
  Diagnostics d;
  CHECK(format_moat(sm.add("a.moat", bom + "//"), sm, d) == std::optional<std::string>("//\n"));
  CHECK(format_moat(sm.add("b.moat", bom + text), sm, d) == format_moat(sm.add("c.moat", text), sm, d));
  CHECK(d.all().empty());
}
