// Which tracked connections use an address: how the agent keeps an FQDN-learned address
// whose names expired while a connection to it is still alive (a "zombie"). Activity is
// read from the conntrack epoch: the agent stamps the entries of a zombie with an epoch
// just older than the current one (mark_conntrack); the next packet of a live connection
// then has its entry judged again and stamped with the current epoch (DATAPATH.md,
// conntrack revalidation), which the next check sees. Entries are read and written through
// their named FlowTuple / ConntrackValue fields only.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "ir/ip.h"

namespace moat::runtime::agent {

/// The epochs of every conntrack entry (map `fd`), by the addresses of its tuple.
std::map<IpAddr, std::vector<uint32_t>> conntrack_epochs(int fd);

/// Stamps `mark` as the epoch of every entry of `fd` whose tuple has one of `addrs`.
void mark_conntrack(int fd, const std::vector<IpAddr>& addrs, uint32_t mark);

} // namespace moat::runtime::agent
