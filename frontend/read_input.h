// Reads one input file other than a policy path (a cases file, a Kubernetes inventory) behind
// the gates policy files pass in load_paths: readable (E001), bounded size (E003), strict
// UTF-8 (E002). The text is registered in the SourceManager so diagnostics can point into it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat {

/// The whole of a regular file of `size` bytes (as stat said) into `text`: one read into a
/// string of that size, then whatever was appended since (a file being written). False
/// when it cannot be opened or read.
bool read_file_text(const std::string& path, uint64_t size, std::string& text);

/// `what` names the input in messages ("cases file", "inventory file").
std::optional<FileId> read_input_file(const std::string& path, uint64_t max_bytes, const std::string& what,
                                      SourceManager& sm, Diagnostics& diags);

} // namespace moat
