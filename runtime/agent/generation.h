// A generation is one loaded copy of a bundle object with its own policy, ipcache and
// endpoint maps, pinned under PIN_DIR/gen/N. The conntrack, fragment and event maps are
// carried from the previous generation (pinned into the new directory before the object
// is opened, so the loader reuses them): flows allowed before a swap keep their replies.
//
// Two ways to change what the node enforces, both without a wrong verdict:
// - swap: a new generation is filled completely, then made active in the dispatch slots
//   (one atomic map update per program kind) — for a new bundle, or after a restart;
// - update in place: with the same bundle and identity allocator, entries of existing
//   identity pairs never change (they depend only on the policy and the identities'
//   descriptions), so an inventory or DNS change only adds entries for new identities and
//   removes those of vanished ones. It is done in three passes over the changed entries
//   only: add the new policy entries (unreferenced yet), then switch address and endpoint
//   entries, then delete stale policy entries — make-before-break.
// Either way the generation's policy epoch changes once the maps hold the new policy (a
// swap: the new generation's epoch is set before its slots are activated; in place: after
// pass 3), so every conntrack entry is judged again by the new policy on its next packet.
// Epochs are increasing across generations and agent restarts (next_epoch).
#pragma once
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backend/bundle/manifest.h"
#include "backend/bundle/map_contents.h"
#include "runtime/agent/dispatch.h"
#include "runtime/agent/desired.h"
#include "runtime/dns/fqdn_cache.h"
#include "runtime/loader.h"

namespace moat::runtime::agent {

/// Maps carried from one generation to the next (when their layouts match).
inline constexpr const char* kCarriedMaps[] = {abi::kMapConntrack, abi::kMapFragments, abi::kMapEvents};

struct Generation {
  uint64_t number = 0;
  std::string dir;  // PIN_DIR/gen/N
  std::string bundle_sha, object;
  std::string signer;  // id of the key that signed the bundle ("" when not authenticated)
  std::unique_ptr<Datapath> dp;
  bundle::IdentityAllocator ids;
  bundle::MapContents contents;  // what the maps hold now
  bool carried = false;          // conntrack & co. came from the previous generation
  uint32_t epoch = 0;            // the policy epoch its programs compare conntrack entries with
  /// A pinned conntrack map in the layout without the local endpoint (abi::FlowTuple
  /// before `local`), whose connections fill() copies once it knows the endpoints.
  std::string migrate_unkeyed_from;
};

/// The epoch after `epoch`, in serial-number order; never 0 (the epoch of entries recorded
/// by moat versions without revalidation, and of objects nobody set an epoch in).
uint32_t next_epoch(uint32_t epoch);
/// The largest epoch (serial-number order) among `known` and the epochs of the generations
/// pinned under `pin_dir`: a new epoch must follow every epoch an entry may carry.
uint32_t latest_epoch(const std::string& pin_dir, uint32_t known);

/// Sets `g`'s epoch (before activation, or after an in-place update). An object without an
/// epoch (built by an older moat) is left as it is, with g.epoch = 0.
bool set_epoch(Generation& g, uint32_t epoch, std::string& error);

std::string generation_dir(const std::string& pin_dir, uint64_t number);

/// Opens `elf` as generation `number`, carrying maps over from `prev_dir` when it is set
/// and compatible (`note` says when they could not be carried: a new conntrack size is
/// such a case, and its connections are copied over). `conntrack_entries` (non-zero)
/// overrides the object's conntrack size.
std::unique_ptr<Generation> open_generation(const std::vector<uint8_t>& elf, const std::string& pin_dir,
                                            uint64_t number, const std::string& prev_dir, bool verbose,
                                            std::string& note, std::string& error, uint32_t conntrack_entries = 0);

/// Marks the hosts entries of `zombies` (FQDN-learned addresses kept only for their live
/// connections) with abi::kIdentityZombie, where their own learned endpoint (named
/// dns::kLearnedEndpointPrefix + address, in `endpoints`) won the address: conntrack
/// revalidation still sees the identity, a new flow does not.
void mark_zombies(bundle::MapContents& c, const std::vector<const Endpoint*>& endpoints,
                  const std::vector<IpAddr>& zombies);

/// Fills a fresh (not yet active) generation's maps.
bool fill(Generation& g, const Module& policy, const Desired& d, std::string& error);

/// Updates an active generation in place, make-before-break (see the file comment), then,
/// when any map entry had to change (`changed`), sets the epoch to `epoch`.
bool update_in_place(Generation& g, const Module& policy, const Desired& d, uint32_t epoch, bool& changed,
                     std::string& error);

/// The fast path of a DNS answer: writes the entries of `learned` (endpoints of FQDN-learned
/// addresses, one address each) into the active generation `g` without recomputing the
/// node: their identities come from a computation over the local endpoints of `d` and
/// `learned` alone (the same function and allocator as a full update, so the same numbers
/// and entries), their policy entries are written first, then their hosts entries, and `g`'s
/// contents take them in (a later update_in_place finds them, and removes what the full
/// computation no longer wants). An address some other endpoint holds in the hosts map (a
/// pod, an inventory entry, a /32 CIDR class) is left to the full update. `in_maps` gets
/// every address of `learned` whose entry is now in the maps; when anything was written the
/// epoch becomes `epoch` (`wrote`), so tracked connections to those addresses are judged again.
bool write_learned(Generation& g, const Module& policy, const Desired& d, const std::vector<Endpoint>& learned,
                   uint32_t epoch, std::set<IpAddr>& in_maps, bool& wrote, std::string& error);

/// Makes `g` the generation every attach point runs: all four slots, or (on failure) none.
bool activate(Dispatch& dispatch, const Generation& g, std::string& error);

/// Generation numbers pinned under PIN_DIR/gen (ascending).
std::vector<uint64_t> pinned_generations(const std::string& pin_dir);

} // namespace moat::runtime::agent
