// Loads deploy/ once and restates the API server's name syntax (k8s.io/apimachinery
// validation: IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label, IsValidPortName,
// IsValidLabelValue, IsQualifiedName).
#include "tests/deploy/manifests.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace moat::deploy_test {

namespace fs = std::filesystem;

const std::vector<Manifest>& manifests() {
  static const std::vector<Manifest> all = [] {
    std::vector<std::string> files;
    fs::path root = fs::path(MOAT_SOURCE_DIR) / "deploy";
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(fs::relative(e.path(), root).string());
    std::sort(files.begin(), files.end());
    std::vector<Manifest> out;
    for (const std::string& f : files)
      for (const YAML::Node& d : YAML::LoadAllFromFile((root / f).string()))
        if (d && !d.IsNull()) out.push_back({f, d});
    return out;
  }();
  return all;
}

std::vector<const Manifest*> of_kind(const std::string& kind, const std::string& ns) {
  std::vector<const Manifest*> out;
  for (const Manifest& m : manifests())
    if (m.kind() == kind && (ns.empty() || m.ns() == ns)) out.push_back(&m);
  return out;
}

const Manifest* find_object(const std::string& kind, const std::string& ns, const std::string& name) {
  for (const Manifest& m : manifests())
    if (m.kind() == kind && m.ns() == ns && m.name() == name) return &m;
  return nullptr;
}

std::string read_source(const std::string& path) {
  std::ifstream in(fs::path(MOAT_SOURCE_DIR) / path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string project_version() {
  std::smatch m;
  std::string cmake = read_source("CMakeLists.txt");
  return std::regex_search(cmake, m, std::regex(R"(project\(moat VERSION ([0-9.]+))")) ? m[1].str() : "";
}

bool is_dns1123_label(const std::string& s) {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return s.size() <= 63 && std::regex_match(s, re);
}

bool is_dns1123_subdomain(const std::string& s) {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return s.size() <= 253 && std::regex_match(s, re);
}

bool is_dns1035_label(const std::string& s) {
  static const std::regex re("[a-z]([-a-z0-9]*[a-z0-9])?");
  return s.size() <= 63 && std::regex_match(s, re);
}

bool is_iana_svc_name(const std::string& s) {
  static const std::regex re("[-a-z0-9]+");
  return !s.empty() && s.size() <= 15 && std::regex_match(s, re) && s.front() != '-' && s.back() != '-' &&
         s.find("--") == std::string::npos && std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool is_label_value(const std::string& s) {
  static const std::regex re("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  return s.empty() || (s.size() <= 63 && std::regex_match(s, re));
}

bool is_qualified_name(const std::string& s) {
  static const std::regex name("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  auto slash = s.find('/');
  std::string n = slash == std::string::npos ? s : s.substr(slash + 1);
  if (slash != std::string::npos && !is_dns1123_subdomain(s.substr(0, slash))) return false;
  return !n.empty() && n.size() <= 63 && std::regex_match(n, name);
}

YAML::Node at(const YAML::Node& node, std::initializer_list<std::string> keys) {
  // Const lookups and reset(): Node::operator= would overwrite the document's node, and a
  // non-const operator[] would insert the key.
  YAML::Node cur;
  cur.reset(node);
  for (const std::string& k : keys) {
    const YAML::Node& c = cur;
    bool index = !k.empty() && std::all_of(k.begin(), k.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (index && c.IsSequence() && std::stoul(k) < c.size()) {
      cur.reset(c[std::stoul(k)]);
      continue;
    }
    if (index || !c.IsDefined() || !c.IsMap() || !c[k]) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(c[k]);
  }
  return cur;
}

std::string Manifest::kind() const { return at(doc, {"kind"}).as<std::string>(""); }
std::string Manifest::name() const { return at(doc, {"metadata", "name"}).as<std::string>(""); }
std::string Manifest::ns() const { return at(doc, {"metadata", "namespace"}).as<std::string>(""); }

std::vector<std::string> strings(const YAML::Node& seq) {
  std::vector<std::string> out;
  if (seq && seq.IsSequence())
    for (const YAML::Node& n : seq) out.push_back(n.as<std::string>(""));
  return out;
}

} // namespace moat::deploy_test
