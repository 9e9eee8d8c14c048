// Goldens (tests/golden/moat_lang/, regenerate with UPDATE_GOLDENS=1): the IR printout of
// the ML platform example, and the rendered diagnostics of the bad inputs in inputs/.
#include <catch2/catch.hpp>

#include "cli/render.h"
#include "ir/printer.h"
#include "tests/moat_lang/moat_lang_helpers.h"

using namespace moat;

namespace {
/// Parses a file the way `moat check` does (load_paths), named by its base name so the
/// golden does not depend on where the checkout lives.
std::unique_ptr<test::Parsed> load(const std::string& path, const std::string& shown) {
  return test::parse(test::read_text(path), shown);
}
} // namespace

TEST_CASE("golden: IR of examples/ml-platform.moat") {
  auto p = load(std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.moat", "examples/ml-platform.moat");
  REQUIRE(test::diag_lines(*p) == "");
  std::string diff = test::check_golden("ml-platform.ir", print_module(p->module, p->sm));
  CHECK(diff == "");
}

TEST_CASE("golden: rendered diagnostics of bad inputs") {
  for (const char* name : {"syntax_error", "unknown_name", "bad_values", "duplicate"}) {
    INFO(name);
    std::string file = std::string(name) + ".moat";
    auto p = load(test::input_path(file), "tests/moat_lang/inputs/" + file);
    REQUIRE(p->diags.has_errors());
    std::string rendered;
    for (const Diagnostic& d : p->diags.all()) rendered += cli::render_diagnostic(d, p->sm, false);
    CHECK(test::check_golden(std::string(name) + ".diag", rendered) == "");
  }
}
