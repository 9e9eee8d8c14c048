// libFuzzer target for connectivity cases files (`moat test --cases FILE`, docs/CASES.md):
// the bytes are the file, read by load_cases exactly as the CLI reads it. A file that
// loads must name only endpoints it declares, and every diagnostic must render.
#include <cstdint>

#include "frontend/cases.h"
#include "fuzz/fuzz_common.h"

using namespace moat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded([&] {
    fuzz::ScratchFile input(".cases.yaml", data, size);
    SourceManager sm;
    Diagnostics diags;
    auto cases = load_cases(input.path(), sm, diags);
    if (cases && diags.has_errors()) fuzz::fail("load_cases returned a file and reported errors");
    if (!cases && !diags.has_errors()) fuzz::fail("load_cases failed without an error diagnostic");
    if (cases)
      for (const Case& c : cases->cases)
        if (!cases->find(c.from) || !cases->find(c.to)) fuzz::fail("case names an unknown endpoint");
    fuzz::render_all(diags, sm);
  });
}
