// The engine registry behind `moat test --engine NAME`.
#include "cli/engines.h"

#include <algorithm>
#include <map>

namespace moat::cli {

namespace {

/// Function-local so that registrations from other translation units' static initializers
/// never run before the map exists.
std::map<std::string, EngineFactory>& registry() {
  static std::map<std::string, EngineFactory> engines;
  return engines;
}

/// Adapts a stateless per-case function to the Engine interface.
class FnEngine : public Engine {
public:
  FnEngine(EngineFn fn, const Module& m, const CasesFile& cf) : fn_(std::move(fn)), m_(m), cf_(cf) {}
  std::optional<EngineVerdict> check(const Case& c) override { return fn_(m_, cf_, c); }

private:
  EngineFn fn_;
  const Module& m_;
  const CasesFile& cf_;
};

} // namespace

bool register_engine(const std::string& name, EngineFactory factory) {
  return registry().emplace(name, std::move(factory)).second;
}

bool register_engine_fn(const std::string& name, EngineFn fn) {
  return register_engine(name, [fn](const EngineInput& in, std::string&) -> std::unique_ptr<Engine> {
    return std::make_unique<FnEngine>(fn, in.module, in.cases);
  });
}

const EngineFactory* find_engine(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> engine_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

} // namespace moat::cli
