// deploy/ as the tests see it: every YAML document of every file under deploy/, with where
// it came from, and the small checks of Kubernetes' name and value syntax that several
// tests need (the API server's rules, apimachinery's validation package, restated).
#pragma once
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace moat::deploy_test {

struct Manifest {
  std::string file;  // relative to deploy/
  YAML::Node doc;
  std::string kind() const;
  std::string name() const;
  std::string ns() const;
  std::string where() const { return file + ": " + kind() + " " + (ns().empty() ? "" : ns() + "/") + name(); }
};

/// Every document under deploy/ (recursively, *.yaml), in file order.
const std::vector<Manifest>& manifests();

/// The objects of one kind (and, when given, one namespace).
std::vector<const Manifest*> of_kind(const std::string& kind, const std::string& ns = "");
const Manifest* find_object(const std::string& kind, const std::string& ns, const std::string& name);

/// moat's version, from the project() line of CMakeLists.txt (what package.sh tags the image).
std::string project_version();
/// A file of the source tree, whole ("" when missing).
std::string read_source(const std::string& path);

bool is_dns1123_label(const std::string& s);      // pod, container, port-less names (<= 63)
bool is_dns1123_subdomain(const std::string& s);  // most object names (<= 253)
bool is_dns1035_label(const std::string& s);      // Service names: a label that starts with a letter
bool is_iana_svc_name(const std::string& s);      // container port names (<= 15, a letter)
bool is_label_value(const std::string& s);
bool is_qualified_name(const std::string& s);     // label keys: [prefix/]name

/// node[k1][k2]... (a key of digits indexes a sequence), or an undefined node when any key is
/// missing (yaml-cpp throws when a missing key is indexed further).
YAML::Node at(const YAML::Node& node, std::initializer_list<std::string> keys);

/// Strings of a YAML sequence (empty when absent).
std::vector<std::string> strings(const YAML::Node& seq);

} // namespace moat::deploy_test
