// Human-readable explanation of an interpreter verdict: for each direction, why it was
// decided and which rules or isolations decided it, each with its source location.
#pragma once
#include <string>

#include "ir/interp.h"
#include "ir/source.h"

namespace moat::cli {

/// One line per direction plus one line per deciding rule / isolation, each line starting
/// with `indent` and ending in '\n'.
std::string explain_verdict(const Module& m, const SourceManager& sm, const Verdict& v,
                            const Endpoint& src, const Endpoint& dst, const std::string& indent = "    ");

/// The L7 condition of an allowed verdict: "only HTTP GET /api/.*" when every rule that
/// allowed a direction carries HTTP (or DNS) constraints, so the proxy lets through only
/// those requests inside the connection; "" when the connection is allowed as a whole or
/// denied. Header requirements are left out (W208: not modeled).
std::string l7_condition(const Module& m, const Verdict& v);

/// "tcp/80", "icmp/8".
std::string flow_text(Protocol proto, uint16_t port);

} // namespace moat::cli
