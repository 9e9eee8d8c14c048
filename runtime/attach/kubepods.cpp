// kubepods path construction and lookup (the layouts are the kubelet's cgroup manager's:
// pod cgroups are named "pod" + UID, inside a QoS-class parent except for Guaranteed pods).
#include "runtime/attach/kubepods.h"

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "runtime/loader.h"

namespace moat::runtime::attach {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string real(const std::string& p) {
  char buf[PATH_MAX];
  return realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

} // namespace

bool valid_pod_uid(const std::string& uid) {
  return !uid.empty() && uid.size() <= 64 &&
         std::all_of(uid.begin(), uid.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-'; });
}

std::vector<std::string> kubepods_candidates(const std::string& root_in, const std::string& uid) {
  if (!valid_pod_uid(uid) || root_in.empty()) return {};
  std::string root = root_in;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string base = root.substr(root.find_last_of('/') + 1);
  if (ends_with(base, ".slice")) {
    // systemd: every slice's name repeats its parent's, joined with '-'; '-' inside a name
    // would mean nesting, so the UID's dashes become underscores.
    std::string prefix = base.substr(0, base.size() - 6);
    std::string u = uid;
    std::replace(u.begin(), u.end(), '-', '_');
    return {root + "/" + prefix + "-pod" + u + ".slice",
            root + "/" + prefix + "-burstable.slice/" + prefix + "-burstable-pod" + u + ".slice",
            root + "/" + prefix + "-besteffort.slice/" + prefix + "-besteffort-pod" + u + ".slice"};
  }
  return {root + "/pod" + uid, root + "/burstable/pod" + uid, root + "/besteffort/pod" + uid};
}

std::string detect_kubepods_root(const std::string& cgroup2_mount) {
  for (const char* name : {"/kubepods.slice", "/kubepods"})
    if (is_dir(cgroup2_mount + name)) return cgroup2_mount + name;
  return "";
}

PodCgroup find_pod_cgroup(const std::string& root, const std::string& uid) {
  PodCgroup out;
  if (root.empty()) {
    out.problem = "no kubepods cgroup hierarchy on this node (--kubepods-root)";
    return out;
  }
  if (!valid_pod_uid(uid)) {
    out.problem = uid.empty() ? "the pod has no metadata.uid" : "metadata.uid '" + uid + "' is not a Kubernetes UID";
    return out;
  }
  std::vector<std::string> found;
  for (const std::string& c : kubepods_candidates(root, uid))
    if (is_dir(c)) found.push_back(c);
  if (found.empty()) {
    out.problem = "no cgroup for pod UID " + uid + " under " + root;
    return out;
  }
  if (found.size() > 1) {
    out.problem = "pod UID " + uid + " has cgroups in two QoS classes under " + root;
    return out;
  }
  std::string real_root = real(root), real_path = real(found[0]);
  if (real_root.empty() || real_path.size() <= real_root.size() + 1 || real_path.compare(0, real_root.size() + 1, real_root + "/") != 0) {
    out.problem = found[0] + " does not lie below " + root;
    return out;
  }
  out.id = cgroup_id_of(found[0]);
  if (!out.id) {
    out.problem = found[0] + " is not a cgroup v2 directory";
    return out;
  }
  out.path = found[0];
  return out;
}

} // namespace moat::runtime::attach
