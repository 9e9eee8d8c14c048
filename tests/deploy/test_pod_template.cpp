// deploy/ against the API server's rules for objects and pod templates that can be checked
// without a server: kinds and scopes, names, the agent DaemonSet's containers (privileges
// stated and minimal, Bidirectional propagation only when privileged, mounts, ports, env
// references), every referenced object shipped, the image package.sh builds, and the
// metrics and DNS wiring.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>

#include "tests/deploy/manifests.h"

using namespace moat::deploy_test;

namespace {

struct KindInfo {
  const char* api_version;
  bool namespaced;
};

// Every kind deploy/ may hold, with its group/version and scope (kubernetes/api types).
const std::map<std::string, KindInfo> kKinds = {
    {"Namespace", {"v1", false}},
    {"ServiceAccount", {"v1", true}},
    {"ConfigMap", {"v1", true}},
    {"Service", {"v1", true}},
    {"DaemonSet", {"apps/v1", true}},
    {"ClusterRole", {"rbac.authorization.k8s.io/v1", false}},
    {"ClusterRoleBinding", {"rbac.authorization.k8s.io/v1", false}},
    {"Role", {"rbac.authorization.k8s.io/v1", true}},
    {"RoleBinding", {"rbac.authorization.k8s.io/v1", true}},
    {"ValidatingAdmissionPolicy", {"admissionregistration.k8s.io/v1", false}},
    {"ValidatingAdmissionPolicyBinding", {"admissionregistration.k8s.io/v1", false}},
    {"PodMonitor", {"monitoring.coreos.com/v1", true}},
};

// What each container may add to an all-dropped capability set, and why (daemonset.yaml).
const std::map<std::string, std::set<std::string>> kCapabilities = {
    {"agent", {"BPF", "NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE"}},  // load, attach, bpffs, port 53
    {"dns-address", {"NET_ADMIN"}},                                    // the proxy's address on lo
    {"taint", {}},
    {"inventory", {}},
};
// The host paths the agent needs, nothing above them.
const std::set<std::string> kHostPaths = {"/sys/fs/bpf", "/sys/fs/cgroup", "/var/run/moat"};
// Objects the operator creates, never deploy/ (re-applying deploy/ must not replace them).
const std::set<std::string> kOperatorSecrets = {"moat-bundle-keys"};

const YAML::Node& pod_spec() {
  static const YAML::Node spec = [] {
    auto ds = of_kind("DaemonSet");
    REQUIRE(ds.size() == 1);
    return at(ds[0]->doc, {"spec", "template", "spec"});
  }();
  return spec;
}

std::vector<YAML::Node> all_containers() {
  std::vector<YAML::Node> out;
  for (const char* list : {"initContainers", "containers"})
    if (pod_spec()[list])
      for (const YAML::Node& c : pod_spec()[list]) out.push_back(c);
  return out;
}

YAML::Node container(const std::string& name) {
  for (const YAML::Node& c : all_containers())
    if (c["name"].as<std::string>("") == name) return c;
  return YAML::Node();
}

std::string cname(const YAML::Node& c) { return c["name"].as<std::string>(""); }

/// The value of `--flag=VALUE` in a container's command or args ("" when absent).
std::string flag(const YAML::Node& c, const std::string& name) {
  for (const char* list : {"command", "args"})
    for (const std::string& a : strings(c[list]))
      if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
  return "";
}

YAML::Node env(const YAML::Node& c, const std::string& name) {
  if (c["env"])
    for (const YAML::Node& e : c["env"])
      if (e["name"].as<std::string>("") == name) return e;
  return YAML::Node();
}

} // namespace

TEST_CASE("deploy: every object is a known kind, with the API's scope and names") {
  REQUIRE(manifests().size() >= 10);
  std::set<std::string> seen;
  for (const Manifest& m : manifests()) {
    INFO(m.where());
    auto k = kKinds.find(m.kind());
    REQUIRE(k != kKinds.end());
    CHECK(m.doc["apiVersion"].as<std::string>("") == k->second.api_version);
    CHECK(is_dns1123_subdomain(m.name()));
    if (m.kind() == "Namespace" || m.kind() == "Service") CHECK(is_dns1035_label(m.name()));
    if (k->second.namespaced) {
      // RBAC for the API server's endpoints lives in `default`; everything else in moat-system.
      bool in_default = (m.kind() == "Role" || m.kind() == "RoleBinding") && m.ns() == "default";
      CHECK((m.ns() == "moat-system" || in_default));
    } else {
      CHECK(m.ns().empty());
    }
    CHECK(seen.insert(m.kind() + "/" + m.ns() + "/" + m.name()).second);  // no duplicates
    if (at(m.doc, {"metadata", "labels"}))
      for (const auto& l : at(m.doc, {"metadata", "labels"})) {
        INFO(l.first.as<std::string>());
        CHECK(is_qualified_name(l.first.as<std::string>()));
        CHECK(is_label_value(l.second.as<std::string>("")));
      }
  }
  // The namespace admits what the DaemonSet needs (host network, hostPath, capabilities).
  const Manifest* ns = find_object("Namespace", "", "moat-system");
  REQUIRE(ns);
  CHECK(at(ns->doc, {"metadata", "labels", "pod-security.kubernetes.io/enforce"}).as<std::string>("") == "privileged");
}

TEST_CASE("deploy: the agent's containers state minimal privileges the API server accepts") {
  std::set<std::string> names;
  for (const YAML::Node& c : all_containers()) {
    std::string n = cname(c);
    INFO("container " << n);
    CHECK(is_dns1123_label(n));
    CHECK(names.insert(n).second);
    REQUIRE(kCapabilities.count(n));
    const YAML::Node sc = c["securityContext"];
    bool privileged = sc && sc["privileged"].as<bool>(false);
    CHECK_FALSE(privileged);  // no container of moat's needs it
    std::set<std::string> add;
    for (const std::string& cap : strings(sc ? at(sc, {"capabilities", "add"}) : YAML::Node())) add.insert(cap);
    for (const std::string& cap : add) {
      INFO("adds " << cap);
      CHECK(kCapabilities.at(n).count(cap));
    }
    // Added capabilities on top of all dropped ones; every container of moat's states so.
    // (The inventory sidecar is replaced by the agent's own watch: not held to it.)
    if (n != "inventory" || !add.empty()) {
      REQUIRE(sc);
      CHECK(sc["privileged"].IsDefined());
      CHECK(strings(at(sc, {"capabilities", "drop"})) == std::vector<std::string>{"ALL"});
      CHECK(sc["allowPrivilegeEscalation"].IsDefined());
    }
    // The API server: allowPrivilegeEscalation false contradicts privileged and CAP_SYS_ADMIN.
    if (sc && sc["allowPrivilegeEscalation"].IsDefined() && !sc["allowPrivilegeEscalation"].as<bool>()) {
      CHECK_FALSE(privileged);
      CHECK_FALSE(add.count("SYS_ADMIN"));
      CHECK_FALSE(add.count("CAP_SYS_ADMIN"));
    }
    // Mounts: Bidirectional propagation only in privileged containers (the API server
    // refuses it otherwise), each mount names a volume of the pod, paths unique.
    std::set<std::string> paths;
    if (c["volumeMounts"])
      for (const YAML::Node& vm : c["volumeMounts"]) {
        std::string prop = vm["mountPropagation"].as<std::string>("None");
        INFO("mount " << vm["mountPath"].as<std::string>(""));
        CHECK((prop == "None" || prop == "HostToContainer" || prop == "Bidirectional"));
        if (prop == "Bidirectional") CHECK(privileged);
        CHECK(vm["mountPath"].as<std::string>("").rfind('/', 0) == 0);
        CHECK(paths.insert(vm["mountPath"].as<std::string>("")).second);
        bool found = false;
        for (const YAML::Node& v : pod_spec()["volumes"]) found |= v["name"].as<std::string>("") == vm["name"].as<std::string>();
        CHECK(found);
      }
  }
  // Host paths: only what the agent needs; the cgroup tree read-only wherever mounted.
  std::set<std::string> volumes;
  for (const YAML::Node& v : pod_spec()["volumes"]) {
    std::string n = v["name"].as<std::string>("");
    INFO("volume " << n);
    CHECK(is_dns1123_label(n));
    CHECK(volumes.insert(n).second);
    if (v["hostPath"]) {
      CHECK(kHostPaths.count(at(v, {"hostPath", "path"}).as<std::string>("")));
      if (at(v, {"hostPath", "path"}).as<std::string>("") == "/sys/fs/cgroup")
        for (const YAML::Node& c : all_containers())
          if (c["volumeMounts"])
            for (const YAML::Node& vm : c["volumeMounts"])
              if (vm["name"].as<std::string>("") == n) CHECK(vm["readOnly"].as<bool>(false));
    }
  }
  CHECK_FALSE(pod_spec()["hostPID"].as<bool>(false));
  CHECK_FALSE(pod_spec()["hostIPC"].as<bool>(false));
}

TEST_CASE("deploy: ports, env references and the objects the DaemonSet names") {
  auto ds = of_kind("DaemonSet");
  REQUIRE(ds.size() == 1);
  const YAML::Node spec = ds[0]->doc["spec"];
  // The selector must match the template's labels (the API server refuses it otherwise).
  for (const auto& l : at(spec, {"selector", "matchLabels"}))
    CHECK(at(spec, {"template", "metadata", "labels", l.first.as<std::string>()}).as<std::string>("") ==
          l.second.as<std::string>());
  bool host_network = pod_spec()["hostNetwork"].as<bool>(false);
  std::string sa = pod_spec()["serviceAccountName"].as<std::string>("");
  CHECK(find_object("ServiceAccount", ds[0]->ns(), sa));

  static const std::set<std::string> kFieldPaths = {"metadata.name", "metadata.namespace", "metadata.uid",
                                                    "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                                                    "status.hostIPs", "status.podIP", "status.podIPs"};
  // A reference kubelet would expand: $(NAME) with a variable's name ($$ escapes; a shell's
  // $(command ...) has spaces and is left alone).
  static const std::regex kVarRef(R"((^|[^$])\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\))");
  std::set<std::string> port_names;
  for (const YAML::Node& c : all_containers()) {
    INFO("container " << cname(c));
    std::set<std::string> defined;
    if (c["env"])
      for (const YAML::Node& e : c["env"]) {
        std::string n = e["name"].as<std::string>("");
        CHECK(std::regex_match(n, std::regex("[-._a-zA-Z][-._a-zA-Z0-9]*")));
        defined.insert(n);
        if (at(e, {"valueFrom", "fieldRef"})) CHECK(kFieldPaths.count(at(e, {"valueFrom", "fieldRef", "fieldPath"}).as<std::string>("")));
        if (const YAML::Node ref = at(e, {"valueFrom", "configMapKeyRef"})) {
          const Manifest* cm = find_object("ConfigMap", ds[0]->ns(), ref["name"].as<std::string>(""));
          INFO("ConfigMap " << ref["name"].as<std::string>(""));
          REQUIRE(cm);
          CHECK(cm->doc["data"][ref["key"].as<std::string>("")].IsDefined());
        }
        CHECK_FALSE(at(e, {"valueFrom", "secretKeyRef"}).IsDefined());  // no Secret reaches an env
      }
    // $(VAR) in the command must name a variable of the container: kubelet leaves an
    // unknown one as literal text (an agent flag "$(TYPO)" would fail only at run time).
    for (const char* list : {"command", "args"})
      for (const std::string& a : strings(c[list]))
        for (std::sregex_iterator it(a.begin(), a.end(), kVarRef), end; it != end; ++it) {
          INFO(a);
          CHECK(defined.count((*it)[2].str()));
        }
    if (c["ports"])
      for (const YAML::Node& p : c["ports"]) {
        std::string n = p["name"].as<std::string>("");
        CHECK(is_iana_svc_name(n));
        CHECK(port_names.insert(n).second);
        int port = p["containerPort"].as<int>(0);
        CHECK((port > 0 && port < 65536));
        // Host network: the host port is the container port (validation refuses others).
        if (host_network && p["hostPort"]) CHECK(p["hostPort"].as<int>() == port);
      }
  }
  // Every ConfigMap and Secret a volume names ships in deploy/, except the operator's key
  // Secret, which the README and daemonset.yaml tell how to create.
  for (const YAML::Node& v : pod_spec()["volumes"]) {
    if (v["configMap"]) CHECK(find_object("ConfigMap", ds[0]->ns(), at(v, {"configMap", "name"}).as<std::string>("")));
    if (v["secret"]) {
      std::string s = at(v, {"secret", "secretName"}).as<std::string>("");
      INFO("Secret " << s);
      CHECK((find_object("Secret", ds[0]->ns(), s) || kOperatorSecrets.count(s)));
      if (kOperatorSecrets.count(s)) {
        CHECK(read_source("README.md").find("create secret generic " + s) != std::string::npos);
      }
    }
  }
}

TEST_CASE("deploy: the DaemonSet runs the image scripts/package.sh builds") {
  std::string version = project_version();
  REQUIRE_FALSE(version.empty());
  // package.sh tags the archive's image with the project version (umoci new --image ...:VERSION).
  CHECK(read_source("scripts/package.sh").find("umoci new --image \"$work/oci:$version\"") != std::string::npos);
  for (const YAML::Node& c : all_containers()) {
    std::string image = c["image"].as<std::string>("");
    INFO("container " << cname(c) << ": " << image);
    CHECK(image.find(":latest") == std::string::npos);
    CHECK(image.find(':') != std::string::npos);  // a tag, never an implicit latest
    if (cname(c) == "agent" || cname(c) == "dns-address") {
      CHECK(image == "moat:" + version);
      // Loaded into the node's containerd, not pulled: IfNotPresent (docs: README, Install).
      CHECK(c["imagePullPolicy"].as<std::string>("") == "IfNotPresent");
    }
  }
}

TEST_CASE("deploy: in-cluster Prometheus reaches the agent's metrics, and only them") {
  YAML::Node agent = container("agent");
  REQUIRE(agent);
  std::string port = flag(agent, "--metrics-port");
  REQUIRE_FALSE(port.empty());
  // On the node's address (host network), from the downward API, not loopback.
  CHECK(flag(agent, "--metrics-address") == "$(NODE_IP)");
  CHECK(env(agent, "NODE_IP")["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>("") == "status.hostIP");
  std::string port_name;
  for (const YAML::Node& p : agent["ports"])
    if (std::to_string(p["containerPort"].as<int>()) == port) port_name = p["name"].as<std::string>("");
  REQUIRE_FALSE(port_name.empty());

  auto services = of_kind("Service", "moat-system");
  REQUIRE(services.size() == 1);
  const YAML::Node svc = services[0]->doc;
  const YAML::Node labels = at(of_kind("DaemonSet")[0]->doc, {"spec", "template", "metadata", "labels"});
  for (const auto& s : at(svc, {"spec", "selector"}))
    CHECK(labels[s.first.as<std::string>()].as<std::string>("") == s.second.as<std::string>());
  CHECK(at(svc, {"spec", "clusterIP"}).as<std::string>("") == "None");  // one endpoint per agent
  REQUIRE(at(svc, {"spec", "ports"}).size() == 1);
  CHECK(at(svc, {"spec", "ports", "0", "targetPort"}).as<std::string>("") == port_name);
  CHECK(at(svc, {"metadata", "annotations", "prometheus.io/port"}).as<std::string>("") == port);
  CHECK(at(svc, {"metadata", "annotations", "prometheus.io/path"}).as<std::string>("") == "/metrics");
  for (const Manifest* pm : of_kind("PodMonitor")) {
    CHECK(at(pm->doc, {"spec", "podMetricsEndpoints", "0", "port"}).as<std::string>("") == port_name);
    CHECK(at(pm->doc, {"spec", "podMetricsEndpoints", "0", "path"}).as<std::string>("") == "/metrics");
  }
}

TEST_CASE("deploy: the DNS proxy's address is the node's, from one setting") {
  YAML::Node agent = container("agent"), init = container("dns-address");
  REQUIRE(agent);
  REQUIRE(init);
  // The proxy listens where the init container puts the address, both from one ConfigMap key.
  CHECK(flag(agent, "--dns-listen") == "$(DNS_LISTEN_IP):53");
  CHECK(flag(agent, "--dns-upstream") == "$(DNS_UPSTREAM_IP):53");
  const YAML::Node a = env(agent, "DNS_LISTEN_IP")["valueFrom"]["configMapKeyRef"];
  const YAML::Node i = env(init, "DNS_LISTEN_IP")["valueFrom"]["configMapKeyRef"];
  REQUIRE(a);
  REQUIRE(i);
  CHECK(a["name"].as<std::string>() == i["name"].as<std::string>());
  CHECK(a["key"].as<std::string>() == i["key"].as<std::string>());
  const Manifest* cm = find_object("ConfigMap", "moat-system", a["name"].as<std::string>());
  REQUIRE(cm);
  // A link-local address (the NodeLocal DNSCache convention): never routed off the node.
  CHECK(at(cm->doc, {"data", a["key"].as<std::string>()}).as<std::string>("").rfind("169.254.", 0) == 0);
  std::string script;
  for (const std::string& s : strings(init["command"])) script += s + "\n";
  CHECK(script.find("ip addr replace \"$DNS_LISTEN_IP/32\" dev lo") != std::string::npos);
}
