// The IR printer: a stable, human-readable dump of a Module (moat check --dump-ir), used
// for golden files. Rule ids, source locations, and every field that affects verdicts.
#pragma once
#include <string>

#include "ir/ir.h"

namespace moat {

std::string print_selector(const LabelSelector& s);
std::string print_endpoint_selector(const EndpointSelector& s);
std::string print_peer(const Peer& p);
std::string print_ports(const std::vector<PortMatch>& ports);
std::string print_module(const Module& m, const SourceManager& sm);

} // namespace moat
