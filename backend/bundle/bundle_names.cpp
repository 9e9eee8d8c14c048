// Name checks of bundle contents (bundle_names.h).
#include "backend/bundle/bundle_names.h"

#include <filesystem>

#include "backend/bundle/datapath_abi.h"

namespace moat::bundle {

namespace fs = std::filesystem;

namespace {

/// libbpf names a global-data map after the object ("moat", set by the loader) and the
/// section; these are the sections a generated object may hold.
constexpr const char* kInternalMaps[] = {"moat.bss", "moat.data", "moat.rodata"};
constexpr const char* kMaps[] = {abi::kMapHosts,    abi::kMapIpcache,   abi::kMapEndpoints,
                                 abi::kMapPolicyExact, abi::kMapPolicy, abi::kMapConntrack,
                                 abi::kMapFragments, abi::kMapCounters, abi::kMapEvents};
constexpr const char* kPrograms[] = {abi::kProgTcIngress, abi::kProgTcEgress, abi::kProgCgroupIngress,
                                     abi::kProgCgroupEgress};

} // namespace

std::optional<std::string> check_object_name(std::string_view name) {
  if (name.empty()) return "empty";
  if (name.size() > 128) return "longer than 128 characters";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return "only letters, digits, '.', '_' and '-' are allowed";
  if (name.front() == '.' || name.front() == '-') return "must not start with '.' or '-'";
  if (name.find("..") != std::string_view::npos) return "must not contain '..'";
  if (name != "default" && name.substr(0, 5) != "pool-") return "must be 'default' or 'pool-' + a node pool name";
  return std::nullopt;
}

std::string object_file(std::string_view name) { return std::string(name) + ".bpf.o"; }

bool known_map_name(std::string_view name) {
  for (const char* m : kMaps)
    if (name == m) return true;
  for (const char* m : kInternalMaps)
    if (name == m) return true;
  return false;
}

bool known_program_name(std::string_view name) {
  for (const char* p : kPrograms)
    if (name == p) return true;
  return false;
}

std::optional<std::string> pin_path(const std::string& pin_dir, std::string_view name, std::string& error) {
  if (!known_map_name(name) && name != abi::kGlobalEpoch) {
    error = "map '" + std::string(name) + "' is not a map moat generates; not pinned";
    return std::nullopt;
  }
  // The name holds no '/' (checked above), so only a symlinked PIN_DIR could move the pin;
  // resolve both and compare, so the check holds whatever the names ever become.
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(fs::path(pin_dir), ec);
  if (ec) {
    error = "cannot resolve pin directory " + pin_dir + ": " + ec.message();
    return std::nullopt;
  }
  fs::path path = fs::weakly_canonical(dir / std::string(name), ec);
  if (ec || path.parent_path() != dir) {
    error = "pin path of map '" + std::string(name) + "' leaves " + pin_dir;
    return std::nullopt;
  }
  return path.string();
}

} // namespace moat::bundle
