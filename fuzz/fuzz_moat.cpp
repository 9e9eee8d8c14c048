// libFuzzer target for the moat language: the bytes are a .moat file, loaded through the
// same path as `moat check` (load_paths: size and UTF-8 checks, ANTLR parse, lowering,
// validation), then linted, printed (--dump-ir) and formatted (`moat fmt`), with every
// diagnostic rendered. A formatted file must format to itself (format_moat's contract).
#include <cstdint>

#include "frontend/moat/format_moat.h"
#include "fuzz/fuzz_common.h"

using namespace moat;

namespace {

void run(const uint8_t* data, size_t size) {
  SourceManager sm;
  fuzz::load_policy(".moat", data, size, sm);

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
  return fuzz::guarded([&] { run(data, size); });
}
