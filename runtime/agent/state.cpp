// JSON forms of the persisted state and the status report (nlohmann::json stays in here).
#include "runtime/agent/state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace moat::runtime::agent {

using nlohmann::json;

namespace {

json attach_json(const AttachRecord& a) {
  return {{"pod", a.pod},         {"interface", a.iface},    {"ifindex", a.ifindex},
          {"cgroup", a.cgroup},   {"cgroup_id", a.cgroup_id}, {"attached", a.attached},
          {"problem", a.problem}};
}

AttachRecord attach_from(const json& j) {
  AttachRecord a;
  a.pod = j.value("pod", "");
  a.iface = j.value("interface", "");
  a.ifindex = j.value("ifindex", 0);
  a.cgroup = j.value("cgroup", "");
  a.cgroup_id = j.value("cgroup_id", uint64_t{0});
  a.attached = j.value("attached", false);
  a.problem = j.value("problem", "");
  return a;
}

} // namespace

std::string to_json(const PersistedState& s) {
  json j = {{"generation", s.generation}, {"epoch", s.epoch}, {"bundle_sha", s.bundle_sha},
            {"object", s.object}, {"node", s.node}, {"attach", json::array()},
            {"highest_serial", s.highest_serial}, {"highest_serial_sha", s.highest_serial_sha}};
  for (const auto& a : s.attach) j["attach"].push_back(attach_json(a));
  return j.dump(2) + "\n";
}

std::optional<PersistedState> persisted_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    PersistedState s;
    s.generation = j.value("generation", uint64_t{0});
    s.epoch = j.value("epoch", uint32_t{0});
    s.bundle_sha = j.value("bundle_sha", "");
    s.object = j.value("object", "");
    s.node = j.value("node", "");
    s.highest_serial = j.value("highest_serial", uint64_t{0});
    s.highest_serial_sha = j.value("highest_serial_sha", "");
    if (j.contains("attach") && j["attach"].is_array())
      for (const auto& a : j["attach"]) s.attach.push_back(attach_from(a));
    return s;
  } catch (const json::exception&) {
    return std::nullopt;  // wrong field types: treat as no state (the pins still exist)
  }
}

std::string to_json(const Status& s) {
  json misfits = json::array();
  for (const auto& m : s.misfits) misfits.push_back({{"pod", m.pod}, {"reasons", m.reasons}, {"enforced", m.enforced}});
  json attach = json::array();
  for (const auto& a : s.attach) attach.push_back(attach_json(a));
  json j = {
      {"ready", s.ready},
      {"node", s.node},
      {"pool", s.pool},
      {"startup_taint", s.startup_taint},
      {"node_has_startup_taint", s.node_has_startup_taint},
      {"generation", s.generation},
      {"epoch", s.epoch},
      {"adopted", s.adopted},
      {"bundle", {{"dir", s.bundle_dir}, {"sha256", s.bundle_sha}, {"object", s.object}, {"signer", s.bundle_signer},
                  {"serial", s.bundle_serial}, {"not_after", s.bundle_not_after},
                  {"highest_serial", s.highest_serial}, {"refused_bundles", s.refused_bundles}}},
      {"pin_dir", s.pin_dir},
      {"attach", attach},
      {"maps", {{"identities", s.identities}, {"ipcache", s.ipcache}, {"policy", s.policy}, {"endpoints", s.endpoints}}},
      {"pods", {{"local", s.local_pods}, {"cluster", s.cluster_pods}, {"runnable_on_pool", s.runnable_pods}}},
      {"misfits", misfits},
      {"unattached", s.unattached},
      {"apply_failed", s.apply_failed},
      {"inventory_stale", s.inventory_stale},
      {"fqdn", {{"addresses", s.fqdn_addresses}, {"names", s.fqdn_names}}},
      {"dns_proxy", {{"queries", s.dns_queries}, {"answers", s.dns_answers}, {"timeouts", s.dns_timeouts},
                     {"hold_ms_avg", s.dns_hold_ms_avg}}},
      {"reloads", s.reloads},
      {"updates", s.updates},
      {"errors", s.errors},
      {"updated_unix_ms", s.updated_unix_ms},
      {"pid", s.pid},
      {"running", s.running},
  };
  return j.dump(2) + "\n";
}

std::optional<Status> status_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    Status s;
    s.ready = j.value("ready", false);
    s.node = j.value("node", "");
    s.pool = j.value("pool", "");
    s.startup_taint = j.value("startup_taint", "");
    s.node_has_startup_taint = j.value("node_has_startup_taint", false);
    s.generation = j.value("generation", uint64_t{0});
    s.epoch = j.value("epoch", uint32_t{0});
    s.adopted = j.value("adopted", false);
    if (j.contains("bundle")) {
      s.bundle_dir = j["bundle"].value("dir", "");
      s.bundle_sha = j["bundle"].value("sha256", "");
      s.bundle_signer = j["bundle"].value("signer", "");
      s.object = j["bundle"].value("object", "");
      s.bundle_serial = j["bundle"].value("serial", uint64_t{0});
      s.bundle_not_after = j["bundle"].value("not_after", int64_t{0});
      s.highest_serial = j["bundle"].value("highest_serial", uint64_t{0});
      s.refused_bundles = j["bundle"].value("refused_bundles", uint64_t{0});
    }
    s.pin_dir = j.value("pin_dir", "");
    if (j.contains("attach"))
      for (const auto& a : j["attach"]) s.attach.push_back(attach_from(a));
    if (j.contains("maps")) {
      s.identities = j["maps"].value("identities", size_t{0});
      s.ipcache = j["maps"].value("ipcache", size_t{0});
      s.policy = j["maps"].value("policy", size_t{0});
      s.endpoints = j["maps"].value("endpoints", size_t{0});
    }
    if (j.contains("pods")) {
      s.local_pods = j["pods"].value("local", size_t{0});
      s.cluster_pods = j["pods"].value("cluster", size_t{0});
      s.runnable_pods = j["pods"].value("runnable_on_pool", size_t{0});
    }
    if (j.contains("misfits"))
      for (const auto& m : j["misfits"])
        s.misfits.push_back({m.value("pod", ""), m.value("reasons", std::vector<std::string>{}), m.value("enforced", true)});
    s.unattached = j.value("unattached", std::vector<std::string>{});
    s.apply_failed = j.value("apply_failed", false);
    s.inventory_stale = j.value("inventory_stale", std::string());
    if (j.contains("fqdn")) {
      s.fqdn_addresses = j["fqdn"].value("addresses", size_t{0});
      s.fqdn_names = j["fqdn"].value("names", size_t{0});
    }
    if (j.contains("dns_proxy")) {
      s.dns_queries = j["dns_proxy"].value("queries", uint64_t{0});
      s.dns_answers = j["dns_proxy"].value("answers", uint64_t{0});
      s.dns_timeouts = j["dns_proxy"].value("timeouts", uint64_t{0});
      s.dns_hold_ms_avg = j["dns_proxy"].value("hold_ms_avg", 0.0);
    }
    s.reloads = j.value("reloads", uint64_t{0});
    s.updates = j.value("updates", uint64_t{0});
    s.errors = j.value("errors", std::vector<std::string>{});
    s.updated_unix_ms = j.value("updated_unix_ms", int64_t{0});
    s.pid = j.value("pid", 0);
    s.running = j.value("running", false);
    return s;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool write_file_atomic(const std::string& path, const std::string& text, std::string& error) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace moat::runtime::agent
