// libFuzzer target for the moat language: the bytes are a .moat file, loaded through the
// same path as `moat check` (load_paths: size and UTF-8 checks, ANTLR parse, lowering,
// validation), then linted, printed (--dump-ir) and formatted (`moat fmt`), with every
// diagnostic rendered. A formatted file must format to itself (format_moat's contract).
#include <cstdint>
#include <cstdio>
#include <exception>

#include "frontend/frontend.h"
#include "frontend/moat/format_moat.h"
#include "fuzz/fuzz_common.h"
#include "ir/lint.h"
#include "ir/printer.h"

using namespace moat;

namespace {

void run(const uint8_t* data, size_t size) {
  fuzz::ScratchFile input(".moat", data, size);
  const std::string& path = input.path();
  SourceManager sm;
  Module module;
  Diagnostics diags;
  load_paths({path}, sm, module, diags);
  if (!diags.has_errors()) {
    fuzz::check_module(module, sm);
    run_lints(module, diags);
    (void)print_module(module, sm);
  }
  fuzz::render_all(diags, sm);

  if (sm.size() != 1) return;
  Diagnostics fdiags;
  auto formatted = format_moat(0, sm, fdiags);
  fuzz::render_all(fdiags, sm);
  if (!formatted) return;
  SourceManager sm2;
  Diagnostics diags2;
  FileId f2 = sm2.add("formatted.moat", *formatted);
  auto again = format_moat(f2, sm2, diags2);
  if (!again) fuzz::fail("the formatted text does not parse:\n" + *formatted);
  if (*again != *formatted) fuzz::fail("format is not idempotent:\n" + *formatted + "\n-- vs --\n" + *again);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    run(data, size);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("exception escaped the front end: ") + e.what());
  } catch (...) {
    fuzz::fail("non-std exception escaped the front end");
  }
  return 0;
}
