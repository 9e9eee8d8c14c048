// Puts the dispatchers where the desired state says, and decides when one may come off.
// The rule (fail closed): a dispatcher stays on an interface for as long as the interface
// exists, and on a cgroup for as long as the cgroup exists, whether or not a pod in the
// inventory still claims it — a pod that left the inventory but whose veth still routes its
// address keeps being enforced (its endpoint entry is gone, so its packets drop as an
// unknown local endpoint) until the CNI deletes the link. The kernel removes a tc filter
// with its interface; a cgroup link whose cgroup is gone is unpinned here. The only
// dispatchers taken off a live attach point are those on something that is never a pod's
// (loopback, an uplink, the cgroup root, kubepods and its QoS parents): only an agent that
// trusted pod annotations could have put them there.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "runtime/agent/dispatch.h"
#include "runtime/agent/state.h"
#include "runtime/attach/attach_points.h"

namespace moat::runtime::agent {

/// Attaches every found record that is not attached yet (sets `attached` / `problem`), then
/// applies the removal rule above to dispatchers no record claims. `log` gets one line per
/// change.
void sync_attachments(Dispatch& dispatch, std::vector<AttachRecord>& records, const attach::AttachConfig& cfg,
                      const std::function<void(const std::string&)>& log);

} // namespace moat::runtime::agent
