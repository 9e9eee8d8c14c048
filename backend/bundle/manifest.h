// The bundle `moat build -o DIR` writes and the runtime reads: DIR/manifest.json plus one
// NAME.bpf.o per object. The manifest carries everything the runtime needs to fill the
// maps on a node without the policy sources: the rules in selector form (subjects and
// peers as label selectors, CIDRs, entities, FQDNs), the isolation facts, the node pools
// and which object each pool runs, and rule id -> origin + source location for the flow log.
// Pure C++ (no LLVM, no libbpf): library moat_bundle.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/bundle/plan.h"
#include "ir/cni_profile.h"
#include "ir/ir.h"

namespace moat::bundle {

inline constexpr int kManifestFormatVersion = 1;
inline constexpr const char* kManifestFile = "manifest.json";
/// The detached signature of manifest.json (signature.h), present in signed bundles.
inline constexpr const char* kSignatureFile = "manifest.json.sig";

struct SourceHash {
  std::string path;    // as given on the command line (or found in a directory)
  std::string sha256;  // lower-case hex
};

/// One compiled object of the bundle.
struct ObjectEntry {
  std::string name;    // "default" or a node pool name
  std::string file;    // "NAME.bpf.o", relative to the bundle directory
  std::string sha256;  // of the file's bytes
  DatapathPlan plan;   // what the object's code looks up (informational; the code is fixed)
};

/// A node pool and the object a node of that pool loads.
struct PoolEntry {
  std::string name;
  std::string object;  // ObjectEntry::name
  std::vector<LabelRequirement> requirements;  // node label requirements (Karpenter)
  Labels labels;                                // template labels
  std::vector<Taint> taints, startup_taints;
  std::vector<EndpointSelector> admits;         // empty: every workload may run there
};

/// Where a rule came from, for `moat observe` and drop events.
struct RuleOrigin {
  uint32_t id = 0;
  std::string origin;    // "NetworkPolicy x/allow-web"
  std::string location;  // "path:line:col" ("" when unknown)
};

struct Manifest {
  int format_version = kManifestFormatVersion;
  std::string generator = "moat";
  /// The CNI profile the policy was lowered under (`moat build --cni`); a manifest written
  /// before profiles existed has none and reads as the default, which it was built under.
  CniProfile cni = kDefaultCniProfile;
  /// Which build this is, for replay protection (replay_guard.h): a trusting agent never
  /// activates a lower serial than one it has activated. `moat build --serial`, by default
  /// the build's Unix time. 0: none (a manifest from before serials).
  uint64_t serial = 0;
  /// Unix time (seconds) after which a trusting agent refuses the bundle; 0: no expiry.
  int64_t not_after = 0;
  std::vector<SourceHash> sources;
  std::vector<ObjectEntry> objects;
  std::vector<PoolEntry> pools;
  /// The policy in selector form: rules (ids preserved; L7 never present) and isolations.
  /// Only the fields the datapath needs are kept; source ranges are dropped (see origins).
  Module policy;
  std::vector<RuleOrigin> origins;  // one per rule, same order as policy.rules

  const ObjectEntry* find_object(const std::string& name) const;
  /// The object for a node of pool `pool` ("" or an unknown pool: the "default" object).
  const ObjectEntry* object_for_pool(const std::string& pool) const;
};

/// Serializes to the manifest.json text (stable key order, 2-space indent).
std::string manifest_to_json(const Manifest& m);
/// Parses manifest.json text; nullopt with `error` set when it is not a valid manifest.
std::optional<Manifest> manifest_from_json(const std::string& text, std::string& error);

/// A bundle read back from disk: the manifest and each object's bytes (hash-checked).
struct Bundle {
  Manifest manifest;
  std::string manifest_text;                  // the exact bytes parsed (and authenticated)
  std::vector<std::vector<uint8_t>> objects;  // parallel to manifest.objects
  const std::vector<uint8_t>* object_bytes(const std::string& name) const;
};

/// Decides whether a manifest's bytes may be used, given the text of DIR/manifest.json.sig
/// (nullopt when the bundle has none); false with `error` set refuses the bundle.
/// (`moat agent --trust` passes one built on bundle::verify_manifest, signature.h.)
using Authenticator =
    std::function<bool(const std::string& manifest, const std::optional<std::string>& signature, std::string& error)>;

/// Reads DIR/manifest.json once; when `authenticate` is set, checks those bytes (with the
/// signature file) before parsing them; then reads every object once and checks its sha256
/// on the same bytes it returns, so what is checked is what gets loaded. Fails on a missing
/// file, an authentication failure, a name the backend never emits or a hash mismatch.
std::optional<Bundle> read_bundle(const std::string& dir, std::string& error,
                                  const Authenticator& authenticate = nullptr);

/// Makes the text of DIR/manifest.json.sig for the manifest's bytes (`moat build --sign`).
using Signer = std::function<std::string(const std::string& manifest)>;

/// Writes `objects` (parallel to manifest.objects, whose file/sha256 fields it fills) and
/// manifest.json (and, with `sign`, manifest.json.sig over its bytes) into `dir`
/// atomically: everything goes to a temporary sibling directory that is renamed over `dir`
/// at the end, so a failure never leaves a half-written or half-signed bundle.
/// An existing `dir` is replaced only if it holds a moat bundle (or is empty).
bool write_bundle(const std::string& dir, Manifest manifest, const std::vector<std::vector<uint8_t>>& objects,
                  std::string& error, const Signer& sign = nullptr);

/// Bytes read from a bundle file, at most `limit` (a larger file fails); nullopt when the
/// file cannot be read.
std::optional<std::string> read_bundle_file(const std::string& path, size_t limit, std::string& error);

} // namespace moat::bundle
