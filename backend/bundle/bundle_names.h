// The names a bundle may use, checked where they are read: object names and files in the
// manifest, and the map and program names inside each object (which become pin paths and
// attach lookups). Everything else is refused, so a manifest or object cannot steer the
// agent outside its bundle and pin directories (`../`, `/`, unknown maps of other tools).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace moat::bundle {

/// An object name as the backend emits them: "default" or "pool-" + a node pool name,
/// at most 128 characters of [A-Za-z0-9._-], no "..", not starting with '.' or '-'.
/// Returns why not, or nullopt when valid.
std::optional<std::string> check_object_name(std::string_view name);
/// The file of object `name` in the bundle directory: NAME.bpf.o.
std::string object_file(std::string_view name);

/// A map of a generated object: one of the abi::kMap* maps, or one of the internal maps
/// libbpf makes of the object's global sections (`moat.bss` holds the policy epoch).
bool known_map_name(std::string_view name);
/// A program of a generated object: one of the four abi::kProg* programs.
bool known_program_name(std::string_view name);

/// PIN_DIR/NAME for a known map name, after checking that the resolved path (symlinks of
/// PIN_DIR followed) lies directly inside PIN_DIR; nullopt with `error` set otherwise.
std::optional<std::string> pin_path(const std::string& pin_dir, std::string_view name, std::string& error);

} // namespace moat::bundle
