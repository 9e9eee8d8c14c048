// deploy/'s access control, offline: the RBAC bound to the agent's service account is
// exactly what the agent needs (and no wildcard), and the ValidatingAdmissionPolicy that
// confines its node patches is well-formed and says what docs/RUNTIME.md claims: own node
// (the token's node claim), only the moat.dev/agent-not-ready taint, fail closed.
#include <catch2/catch.hpp>

#include <set>
#include <regex>
#include <tuple>
#include <algorithm>

#include "tests/deploy/manifests.h"

using namespace moat::deploy_test;

namespace {

// (namespace or "*" for cluster-wide, API group, resource, verb).
using Grant = std::tuple<std::string, std::string, std::string, std::string>;

// What the agent does with the API: watches the inventory (Namespaces, Pods, Nodes) and the
// `kubernetes` Service's EndpointSlices in `default`; the taint container reads and
// patches its node.
const std::set<Grant> kNeeded = {
    {"*", "", "namespaces", "list"}, {"*", "", "namespaces", "watch"},
    {"*", "", "pods", "list"},       {"*", "", "pods", "watch"},
    {"*", "", "nodes", "get"},       {"*", "", "nodes", "list"},
    {"*", "", "nodes", "watch"},     {"*", "", "nodes", "patch"},
    {"default", "discovery.k8s.io", "endpointslices", "list"},
    {"default", "discovery.k8s.io", "endpointslices", "watch"},
};
const char* kTaint = "moat.dev/agent-not-ready";

struct Agent {
  std::string ns, sa;
};

Agent agent_identity() {
  auto ds = of_kind("DaemonSet");
  REQUIRE(ds.size() == 1);
  return {ds[0]->ns(), at(ds[0]->doc, {"spec", "template", "spec", "serviceAccountName"}).as<std::string>("")};
}

bool binds_agent(const YAML::Node& binding, const Agent& a) {
  for (const YAML::Node& s : binding["subjects"])
    if (s["kind"].as<std::string>("") == "ServiceAccount" && s["name"].as<std::string>("") == a.sa &&
        s["namespace"].as<std::string>("") == a.ns)
      return true;
  return false;
}

/// Brackets and quotes of a CEL expression balance (a cheap guard against a broken edit;
/// the API server type-checks the rest when the policy is applied).
bool balanced(const std::string& e) {
  std::string stack;
  char quote = 0;
  for (char c : e) {
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    else if (c == '(' || c == '[' || c == '{') stack.push_back(c);
    else if (c == ')' || c == ']' || c == '}') {
      char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (stack.empty() || stack.back() != open) return false;
      stack.pop_back();
    }
  }
  return stack.empty() && !quote;
}

} // namespace

TEST_CASE("deploy: the agent's RBAC is exactly what it needs") {
  Agent a = agent_identity();
  std::set<Grant> granted;
  int bindings = 0;
  for (const char* kind : {"ClusterRoleBinding", "RoleBinding"})
    for (const Manifest* b : of_kind(kind)) {
      INFO(b->where());
      const YAML::Node ref = b->doc["roleRef"];
      CHECK(ref["apiGroup"].as<std::string>("") == "rbac.authorization.k8s.io");
      std::string role_kind = ref["kind"].as<std::string>("");
      // A RoleBinding may name a Role of its namespace (or a ClusterRole); a
      // ClusterRoleBinding only a ClusterRole.
      const Manifest* role = role_kind == "Role" ? find_object("Role", b->ns(), ref["name"].as<std::string>(""))
                                                 : find_object("ClusterRole", "", ref["name"].as<std::string>(""));
      REQUIRE(role);
      if (std::string(kind) == "ClusterRoleBinding") CHECK(role_kind == "ClusterRole");
      for (const YAML::Node& s : b->doc["subjects"])
        if (s["kind"].as<std::string>("") == "ServiceAccount")
          CHECK(find_object("ServiceAccount", s["namespace"].as<std::string>(""), s["name"].as<std::string>("")));
      if (!binds_agent(b->doc, a)) continue;
      ++bindings;
      std::string scope = std::string(kind) == "ClusterRoleBinding" ? "*" : b->ns();
      for (const YAML::Node& r : role->doc["rules"]) {
        CHECK_FALSE(r["resourceNames"].IsDefined());
        CHECK_FALSE(r["nonResourceURLs"].IsDefined());
        for (const std::string& g : strings(r["apiGroups"]))
          for (const std::string& res : strings(r["resources"]))
            for (const std::string& v : strings(r["verbs"])) {
              INFO(g << " " << res << " " << v);
              CHECK(g != "*");
              CHECK(res != "*");
              CHECK(res.find('/') == std::string::npos);  // no subresource (nodes/status, pods/exec)
              CHECK(v != "*");
              granted.insert({scope, g, res, v});
            }
      }
    }
  CHECK(bindings == 2);
  CHECK(granted == kNeeded);
  // No role in deploy/ grants more than the agent's own (an unbound role is a loaded gun).
  for (const char* kind : {"ClusterRole", "Role"})
    for (const Manifest* r : of_kind(kind)) {
      bool bound = false;
      for (const char* bkind : {"ClusterRoleBinding", "RoleBinding"})
        for (const Manifest* b : of_kind(bkind))
          bound |= at(b->doc, {"roleRef", "kind"}).as<std::string>("") == kind &&
                   at(b->doc, {"roleRef", "name"}).as<std::string>("") == r->name();
      INFO(r->where());
      CHECK(bound);
    }
}

TEST_CASE("deploy: the admission policy confines node patches to the agent's node and taint") {
  Agent a = agent_identity();
  auto policies = of_kind("ValidatingAdmissionPolicy");
  REQUIRE(policies.size() == 1);
  const YAML::Node spec = policies[0]->doc["spec"];
  CHECK(spec["failurePolicy"].as<std::string>("") == "Fail");  // fail closed
  CHECK_FALSE(spec["paramKind"].IsDefined());

  // It sees every node update: patches arrive as UPDATE.
  bool nodes = false;
  for (const YAML::Node& r : at(spec, {"matchConstraints", "resourceRules"})) {
    auto groups = strings(r["apiGroups"]), ops = strings(r["operations"]), res = strings(r["resources"]);
    if (std::count(groups.begin(), groups.end(), "") && std::count(ops.begin(), ops.end(), "UPDATE") &&
        std::count(res.begin(), res.end(), "nodes"))
      nodes = true;
  }
  CHECK(nodes);
  // ... made by the agent's service account, named exactly.
  REQUIRE(spec["matchConditions"].size() == 1);
  CHECK(at(spec, {"matchConditions", "0", "expression"}).as<std::string>("") ==
        "request.userInfo.username == 'system:serviceaccount:" + a.ns + ":" + a.sa + "'");

  std::set<std::string> variables;
  std::string all;
  for (const YAML::Node& v : spec["variables"]) {
    std::string e = v["expression"].as<std::string>("");
    INFO(e);
    CHECK(balanced(e));
    variables.insert(v["name"].as<std::string>(""));
    all += e + "\n";
  }
  REQUIRE(spec["validations"].size() >= 4);
  static const std::set<std::string> kReasons = {"Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"};
  for (const YAML::Node& v : spec["validations"]) {
    std::string e = v["expression"].as<std::string>("");
    INFO(e);
    CHECK(balanced(e));
    CHECK((v["message"].IsDefined() || v["messageExpression"].IsDefined()));
    if (v["reason"]) CHECK(kReasons.count(v["reason"].as<std::string>()));
    all += e + "\n";
  }
  // Every variables.X used is declared.
  static const std::regex kVar(R"(variables\.([A-Za-z_][A-Za-z0-9_]*))");
  for (std::sregex_iterator it(all.begin(), all.end(), kVar), end; it != end; ++it) {
    INFO((*it)[0].str());
    CHECK(variables.count((*it)[1].str()));
  }
  // Own node: the token's node claim, compared with the node's name.
  CHECK(all.find("request.userInfo.extra['authentication.kubernetes.io/node-name']") != std::string::npos);
  CHECK(all.find("object.metadata.name == variables.ownNode") != std::string::npos);
  CHECK(all.find("variables.ownNode != ''") != std::string::npos);  // no claim: refused
  // Only moat's taint: every other taint, the spec and the metadata as before.
  CHECK(all.find(std::string("t.key != '") + kTaint + "'") != std::string::npos);
  CHECK(all.find("variables.otherTaints == variables.oldOtherTaints") != std::string::npos);
  for (const char* field : {"unschedulable", "labels", "annotations", "finalizers", "ownerReferences"}) {
    INFO(field);
    CHECK(all.find(std::string("oldObject.") + (std::string(field) == "unschedulable" ? "spec." : "metadata.") + field) !=
          std::string::npos);
  }
  // The taint the policy lets through is the one the taint container lifts.
  CHECK(read_source("deploy/daemonset.yaml").find(std::string(kTaint) + ":NoExecute-") != std::string::npos);

  auto bindings = of_kind("ValidatingAdmissionPolicyBinding");
  REQUIRE(bindings.size() == 1);
  CHECK(at(bindings[0]->doc, {"spec", "policyName"}).as<std::string>("") == policies[0]->name());
  CHECK(strings(at(bindings[0]->doc, {"spec", "validationActions"})) == std::vector<std::string>{"Deny"});
}
