// Attach and the removal rule (see the header).
#include "runtime/agent/attachments.h"

#include <algorithm>

namespace moat::runtime::agent {

void sync_attachments(Dispatch& dispatch, std::vector<AttachRecord>& records, const attach::AttachConfig& cfg,
                      const std::function<void(const std::string&)>& log) {
  std::string err;
  for (AttachRecord& rec : records) {
    bool ok = rec.ifindex || rec.cgroup_id;
    if (rec.ifindex && !dispatch.tc_attached(rec.ifindex)) {
      if (!dispatch.attach_tc(rec.ifindex, err)) {
        rec.problem = err;
        ok = false;
      } else {
        log("attached " + rec.pod + " on interface " + rec.iface);
      }
    }
    if (rec.cgroup_id && !dispatch.cgroup_attached(rec.cgroup_id)) {
      if (!dispatch.attach_cgroup(rec.cgroup, err)) {
        rec.problem = err;
        ok = false;
      } else {
        log("attached " + rec.pod + " on cgroup " + rec.cgroup);
      }
    }
    rec.attached = ok && !rec.conflict;  // a shared attach point drops; it enforces neither pod
  }
  for (int ifindex : dispatch.attached_interfaces()) {
    bool wanted = std::any_of(records.begin(), records.end(), [&](const AttachRecord& r) { return r.ifindex == ifindex; });
    if (wanted || !attach::never_pod_interface(ifindex)) continue;  // unclaimed pod links stay enforced
    if (dispatch.detach_tc(ifindex, err)) log("removed the dispatcher from interface index " + std::to_string(ifindex) + ", which is no pod's");
  }
  for (uint64_t cg : dispatch.attached_cgroups()) {
    bool wanted = std::any_of(records.begin(), records.end(), [&](const AttachRecord& r) { return r.cgroup_id == cg; });
    if (wanted) continue;
    bool gone = !dispatch.cgroup_attached(cg);  // the link lost its cgroup
    if ((gone || attach::never_pod_cgroup(cg, cfg)) && dispatch.detach_cgroup(cg, err))
      log((gone ? "unpinned the link of deleted cgroup id " : "removed the dispatcher from cgroup id ") + std::to_string(cg) +
          (gone ? "" : ", which is no pod's"));
  }
}

} // namespace moat::runtime::agent
