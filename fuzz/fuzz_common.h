// Shared pieces of the libFuzzer targets: a scratch file per input (the front ends are
// driven through the same entry points as the CLI, which take paths), the checks every
// target runs on the result, and rendering of every diagnostic as `moat` would print it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "ir/source.h"

namespace moat::fuzz {

/// `data` written to a scratch file (in /dev/shm when there is one) whose name ends with
/// `suffix`, which picks the front end; removed again when this goes out of scope.
class ScratchFile {
public:
  ScratchFile(const std::string& suffix, const uint8_t* data, size_t size);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// Renders every diagnostic as text and as JSON, like `moat check` and `--format json`.
/// Aborts if a diagnostic points outside the loaded files or JSON cannot encode it.
void render_all(const Diagnostics& diags, const SourceManager& sm);

/// Cheap consistency checks of a Module that loaded without errors (rule ids, twins,
/// port ranges, source ranges). Aborts with a message on the first violation.
void check_module(const Module& m, const SourceManager& sm);

/// Prints `what` and aborts, so libFuzzer records the input as a crash.
[[noreturn]] void fail(const std::string& what);

/// `data` as a policy file (`suffix` picks the front end) through load_paths, as `moat
/// check` reads it; when it loads without errors, check_module, the lints and the IR
/// printer run on it. Every diagnostic is rendered. `sm` keeps the file for the caller.
void load_policy(const std::string& suffix, const uint8_t* data, size_t size, SourceManager& sm);

/// ".json" when the bytes start (after white space) with '{' or '[', else ".yaml": the
/// front end reads .json files through simdjson and everything else through libfyaml, and
/// the JSON seeds should reach the former.
std::string yaml_or_json_suffix(const uint8_t* data, size_t size);

/// Runs one input; an exception escaping `body` is a finding.
template <typename Body>
int guarded(Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    fail(std::string("exception escaped the front end: ") + e.what());
  } catch (...) {
    fail("non-std exception escaped the front end");
  }
  return 0;
}

} // namespace moat::fuzz
