// One policy file read on its own (load_paths parses files in parallel): what the YAML
// front end made of it, and the ordered merge that makes the parts of several files the
// same Module, diagnostics and object sets a file-by-file load would have made.
#pragma once
#include "frontend/frontend.h"
#include "frontend/kube_objects.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

/// A YAML file parsed against nothing but itself: its own rules (ids from 0), its own
/// diagnostics (collected with the caller's switched-off codes), the identities and
/// AdminNetworkPolicy priorities it declares, and its Kubernetes objects.
struct FilePart {
  Module module;
  Diagnostics diags;
  SeenObjects seen;
  KubeObjects kube;
};

/// Parses `file` (already in `sm`) into `part`: the UTF-8 gate, then parse_yaml. Reads
/// only `sm` and `opts`, so parts of different files can be made on different threads.
void parse_yaml_part(FileId file, const SourceManager& sm, const LoadOptions& opts, FilePart& part);

/// The part of a file with the same bytes and extension as `part`'s (`from`): a copy with
/// every source range of `from` moved to `to`. Only for a part whose diagnostics are
/// blank: a diagnostic's message may name its file.
FilePart copy_part_to_file(const FilePart& part, FileId from, FileId to);

/// Whether appending `part` after everything merged so far gives what parsing its file
/// after them would have given: none of its objects (or AdminNetworkPolicy priorities)
/// was already read, so no E210 or W220 depends on the earlier files, and its errors do
/// not take `diags` to the limit where the YAML driver stops reading.
bool part_is_independent(const FilePart& part, const SeenObjects& seen, const Diagnostics& diags);

/// Reserves room in `out` and `kube` for everything in `parts`, so merging them moves each
/// rule, isolation and pod once.
void reserve_for_parts(const std::vector<const FilePart*>& parts, Module& out, KubeObjects& kube);

/// Appends the part (file order): rules and baseline rules renumbered after the ones in
/// `out`, the admin tier put back in evaluation order, diagnostics, seen identities and
/// Kubernetes objects after the earlier ones. Leaves `part` empty.
void append_part(FilePart&& part, Module& out, Diagnostics& diags, SeenObjects& seen, KubeObjects& kube);

} // namespace moat
