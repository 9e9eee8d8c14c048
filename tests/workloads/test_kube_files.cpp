// Reading inventory files in parallel (frontend/k8s/kube_files.cpp): with one thread and with
// four, a multi-file inventory gives the same objects in the same order and the same
// diagnostics at the same places, whatever depends on another file (a Deployment whose
// Namespace is in a later file, a pod in two files, a Namespace redefined, a broken file,
// the error limit reached across files).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "frontend/kube_objects.h"

using namespace moat;

namespace {

namespace fs = std::filesystem;

/// A fresh directory holding `files` (name -> text).
std::string write_dir(const std::string& name, const std::vector<std::pair<std::string, std::string>>& files) {
  fs::path dir = fs::temp_directory_path() / ("moat-kube-files-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [file, text] : files) std::ofstream(dir / file) << text;
  return dir.string();
}

std::string labels_text(const Labels& l) {
  std::string out = "{";
  for (const auto& [k, v] : l) out += k + "=" + v + ",";
  return out + "}";
}

/// Everything a load produces, as text: the endpoints with where they came from, the pods
/// in order, the namespaces, and each diagnostic as the CLI places it.
std::string load_text(const std::string& dir, const char* jobs) {
  setenv("MOAT_JOBS", jobs, 1);
  SourceManager sm;
  Diagnostics diags;
  auto objs = load_kube_objects({dir}, sm, diags);
  unsetenv("MOAT_JOBS");
  std::string out;
  if (objs) {
    for (const Endpoint& e : workload_endpoints(*objs)) {
      out += "endpoint " + e.name + " at " + sm.location(e.range) + " labels " + labels_text(e.labels) + " ns " +
             labels_text(e.ns_labels) + " ips";
      for (const IpAddr& a : e.ips) out += " " + a.str();
      out += "\n";
    }
    for (const KubePod& p : objs->pods) out += "pod " + p.ep.name + " of " + p.workload + " at " + sm.location(p.ep.range) + "\n";
    for (const auto& [name, labels] : objs->namespaces) out += "namespace " + name + " " + labels_text(labels) + "\n";
  } else {
    out += "not loaded\n";
  }
  for (const Diagnostic& d : diags.all()) {
    out += sm.location(d.range) + ": " + std::string(code_name(d.code)) + ": " + d.message + "\n";
    for (const DiagNote& n : d.notes) out += "  note: " + sm.location(n.range) + ": " + n.message + "\n";
  }
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::string kPod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d8f-1\n  namespace: shop\n"
                         "  labels: {app: web, pod-template-hash: 5d8f}\n"
                         "  ownerReferences: [{kind: ReplicaSet, name: web-5d8f, controller: true}]\n"
                         "status: {podIP: 10.0.0.1}\n";

/// Files whose reading depends on each other: the Deployment of file a's pods is in file c,
/// its Namespace in file e; the pod is in files a and d; Namespace pay is defined in b and
/// redefined in e; a malformed pod (W807) in c; namespace lost (W804) has no object.
std::vector<std::pair<std::string, std::string>> related_files() {
  std::vector<std::pair<std::string, std::string>> files = {
      {"a-pods.yaml", kPod + "---\nkind: Pod\nmetadata: {name: lone, namespace: lost}\nstatus: {podIP: 10.0.0.9}\n"},
      {"b-ns.yaml", "kind: Namespace\nmetadata: {name: pay, labels: {team: old}}\n"},
      {"c-deploy.yaml", "kind: Deployment\nmetadata: {name: web, namespace: shop}\n"
                        "spec: {template: {metadata: {labels: {app: web}}}}\n"
                        "---\nkind: Pod\nmetadata: {name: bad, namespace: shop, labels: {'no spaces': x}}\n"},
      {"d-again.json", R"({"kind": "PodList", "items": [{"metadata": {"name": "web-5d8f-1", "namespace": "shop",)"
                       R"( "labels": {"app": "web", "pod-template-hash": "5d8f"}, "ownerReferences": [{"kind": "ReplicaSet",)"
                       R"( "name": "web-5d8f", "controller": true}]}, "status": {"podIP": "10.0.0.2"}}]})"},
      {"e-ns.yaml", "kind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n---\n"
                    "kind: Namespace\nmetadata: {name: pay, labels: {team: new}}\n"},
  };
  // More files than threads, so that a merge in completion order would show.
  for (int i = 0; i < 12; ++i) {
    std::string n = std::to_string(i);
    files.push_back({"f" + std::string(i < 10 ? "0" : "") + n + ".yaml",
                     "kind: Pod\nmetadata: {name: p" + n + ", namespace: pay, labels: {app: p" + n +
                         "}}\nstatus: {podIP: 10.1.0." + n + "}\n"});
  }
  return files;
}

} // namespace

TEST_CASE("inventory files read in parallel: the serial objects, order and diagnostics", "[workloads][inventory]") {
  std::string dir = write_dir("related", related_files());
  std::string serial = load_text(dir, "1");
  INFO(serial);
  // What the serial run itself must say, so that agreeing with it means something.
  CHECK(serial.find("endpoint shop/web[Deployment] at " + dir + "/c-deploy.yaml:1:1 labels {app=web,} ns "
                    "{kubernetes.io/metadata.name=shop,team=a,} ips 10.0.0.1 10.0.0.2\n") != std::string::npos);
  CHECK(count(serial, "pod shop/web-5d8f-1 of shop/web[Deployment]") == 2);
  CHECK(serial.find("namespace pay {kubernetes.io/metadata.name=pay,team=new,}") != std::string::npos);
  CHECK(count(serial, ": W807: ") == 1);
  CHECK(count(serial, ": W804: namespace 'lost'") == 1);
  CHECK(count(serial, "endpoint pay/p") == 12);
  for (const char* jobs : {"4", "2", "16"}) CHECK(load_text(dir, jobs) == serial);

  // A broken file rejects the inventory (E201 where it breaks), and the other files'
  // diagnostics still come in file order around it.
  auto files = related_files();
  files.push_back({"c2-broken.yaml", "kind: Pod\nmetadata: {name: [\n"});
  files.push_back({"c3-latin1.yaml", "kind: Namespace\nmetadata: {name: caf\xe9}\n"});  // E002 as it is read
  std::string broken_dir = write_dir("broken", files);
  std::string broken = load_text(broken_dir, "1");
  INFO(broken);
  CHECK(broken.rfind("not loaded\n", 0) == 0);
  CHECK(count(broken, "c2-broken.yaml:3:1:") == 1);
  CHECK(count(broken, "c3-latin1.yaml:2:") == 1);
  // Files are read before any is parsed; their read errors still come in file order.
  CHECK(broken.find(": W807: ") < broken.find("c2-broken.yaml:3:1:"));
  CHECK(broken.find("c2-broken.yaml:3:1:") < broken.find("c3-latin1.yaml:2:"));
  for (const char* jobs : {"4", "3"}) CHECK(load_text(broken_dir, jobs) == broken);
  fs::remove_all(dir);
  fs::remove_all(broken_dir);
}

TEST_CASE("inventory files read in parallel: the error limit counts the earlier files' errors", "[workloads][inventory]") {
  // The tree builder stops reporting at Diagnostics::kMaxErrors; a file read in parallel
  // starts from no errors, so the merge must reproduce where the serial run stopped.
  std::string many;
  for (int i = 0; i < 150; ++i) many += "---\nkind: Pod\nmetadata: {name: [\n";
  std::string dir = write_dir("limit", {{"a.yaml", many}, {"b.yaml", many}, {"c.yaml", many}});
  std::string serial = load_text(dir, "1");
  size_t errors = count(serial, ": E201: ");
  CHECK(errors >= Diagnostics::kMaxErrors);
  CHECK(errors < 300);  // the limit stopped b.yaml part-way, and c.yaml at once
  CHECK(count(serial, "/c.yaml:") == 0);
  CHECK(load_text(dir, "4") == serial);
  fs::remove_all(dir);
}
