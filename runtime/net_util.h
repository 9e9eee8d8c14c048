// Small socket helpers shared by the DNS proxy and the netns test probe: a monotonic
// millisecond clock, text address -> sockaddr, and a deadline-bounded poll.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace moat::runtime {

/// Milliseconds on the steady clock (only differences are meaningful).
int64_t now_ms();
/// Parses an IPv4 or IPv6 literal into `ss` with `port`; false when `host` is neither.
bool make_sockaddr(const std::string& host, uint16_t port, sockaddr_storage& ss, socklen_t& len);
/// Waits until fd is ready for `events` (or hung up / in error) or `deadline_ms` passes.
bool wait_fd(int fd, short events, int64_t deadline_ms);

} // namespace moat::runtime
