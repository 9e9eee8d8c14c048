// libFuzzer target for the inventory reader (Kubernetes Node, Namespace and Pod objects, as
// `moat agent --node/--inventory` and `moat check --inventory` read them): the bytes are one
// YAML/JSON file, read as an inventory (load_inventory) and as the agent's Node (load_node).
// A read that succeeds must have reported no error, one that fails must have reported one,
// every object must point into the file, and every diagnostic must render.
#include <cstdint>

#include "runtime/inventory.h"
#include "fuzz/fuzz_common.h"

using namespace moat;
using namespace moat::runtime;

namespace {

void check_result(bool ok, const Diagnostics& diags, const std::string& what) {
  if (ok && diags.has_errors()) fuzz::fail(what + " returned a value and reported errors");
  if (!ok && !diags.has_errors()) fuzz::fail(what + " failed without an error diagnostic");
}

void check_in_file(const SourceRange& r, const SourceManager& sm, const std::string& what) {
  if (!r.known() || r.file >= sm.size() || r.line == 0 || r.col == 0) fuzz::fail(what + " has no range in the file");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded([&] {
    fuzz::ScratchFile input(fuzz::yaml_or_json_suffix(data, size), data, size);
    {
      SourceManager sm;
      Diagnostics diags;
      auto inv = load_inventory({input.path()}, sm, diags);
      check_result(inv.has_value(), diags, "load_inventory");
      if (inv) {
        for (const KubePod& p : inv->pods) {
          check_in_file(p.ep.range, sm, "pod " + p.ep.name);
          if (inv->namespaces.find(p.ep.ns) == inv->namespaces.end())
            fuzz::fail("pod " + p.ep.name + " has no namespace after resolve_namespaces");
          if (inv->find_pod(p.ep.name) == nullptr) fuzz::fail("find_pod misses " + p.ep.name);
        }
        (void)workload_endpoints(*inv);
      }
      fuzz::render_all(diags, sm);
    }
    SourceManager sm;
    Diagnostics diags;
    auto node = load_node(input.path(), sm, diags);
    check_result(node.has_value(), diags, "load_node");
    if (node) {
      check_in_file(node->range, sm, "node " + node->name);
      (void)node->pool();
    }
    fuzz::render_all(diags, sm);
  });
}
