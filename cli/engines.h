// The engines `moat test` can ask for a verdict: the reference interpreter here, the Z3
// encoding (verifier) and the kernel (compiled objects run with BPF_PROG_TEST_RUN) plug in
// by registering a factory under their name from their own cli/engine_NAME.cpp. An engine
// that is not linked in is simply absent, and asking for it is a usage error.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/cases.h"
#include "ir/ir.h"
#include "ir/source.h"

namespace moat::cli {

/// One engine's answer for one case.
struct EngineVerdict {
  bool allowed = false;
  /// Why, for a human: the deciding rules with their source locations, one per line,
  /// already indented; printed under a failing case (and under every case with -v).
  std::string detail;
  /// For an allow: the L7 condition the proxy applies inside the connection ("only HTTP GET
  /// /api/.*"), or "" (cli/explain.h l7_condition). Only engines that know it set it.
  std::string condition;
};

/// An engine prepared for one policy and one set of endpoints (e.g. objects built, maps
/// filled once), then asked about each case in turn.
class Engine {
public:
  virtual ~Engine() = default;
  /// The verdict, or nullopt when the engine cannot decide this case (solver timeout,
  /// unsupported feature): `moat test` reports that as "unknown" and counts it as a failure.
  virtual std::optional<EngineVerdict> check(const Case& c) = 0;
};

/// Everything an engine may need to prepare. `cases` holds every endpoint the cases refer to
/// (the cases file's and the ends of the sources' `expect` statements).
struct EngineInput {
  const Module& module;
  const CasesFile& cases;
  const SourceManager& sm;
};

/// Builds an engine; on failure returns nullptr and says why in `error` (e.g. "bpf() not
/// permitted"); `moat test` then stops with exit code 2.
using EngineFactory = std::function<std::unique_ptr<Engine>(const EngineInput&, std::string& error)>;

/// Per-case engines that need no preparation can register a plain function.
using EngineFn = std::function<std::optional<EngineVerdict>(const Module&, const CasesFile&, const Case&)>;

/// Registers `factory` under `name` (first registration wins). Call it from a namespace-scope
/// initializer in the engine's cli/engine_NAME.cpp: `static const bool r = register_engine(...)`.
bool register_engine(const std::string& name, EngineFactory factory);
bool register_engine_fn(const std::string& name, EngineFn fn);

/// The factory registered under `name`, or nullptr.
const EngineFactory* find_engine(const std::string& name);
/// Registered engine names, sorted.
std::vector<std::string> engine_names();

/// The engines `--engine all` requires, in report order (docs/CASES.md: all three must agree).
inline const std::vector<std::string>& all_engine_names() {
  static const std::vector<std::string> names = {"interp", "smt", "kernel"};
  return names;
}

} // namespace moat::cli
