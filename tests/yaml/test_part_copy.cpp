// copy_part_to_file: the part of a file copied for another file with the same bytes must
// be what parsing that other file gives, field by field (the IR's defaulted ==). Run over
// every YAML and JSON file of the repository (examples, fixtures, the third-party corpus),
// so a source range the IR gains and the copy does not move fails here.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "frontend/load_parts.h"

using namespace moat;
namespace fs = std::filesystem;

TEST_CASE("a part copied to another file equals the part parsed from it", "[driver][parallel]") {
  size_t compared = 0, with_rules = 0, with_kube = 0, with_admin = 0, with_pools = 0, with_seen = 0, parsed = 0;
  for (const char* dir : {"examples", "tests"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(MOAT_SOURCE_DIR) / dir)) {
      std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml" && ext != ".json")) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      std::string rel = e.path().lexically_relative(MOAT_SOURCE_DIR).generic_string();
      INFO(rel);
      SourceManager sm;
      FileId a = sm.add("old/" + rel, text.str()), b = sm.add("new/" + rel, text.str());
      FilePart pa, pb;
      parse_yaml_part(a, sm, {}, pa);
      parse_yaml_part(b, sm, {}, pb);
      ++parsed;
      if (!pa.diags.blank()) continue;  // such parts are parsed again, never copied
      CHECK(pb.diags.blank());
      FilePart copy = copy_part_to_file(pa, a, b);
      CHECK(copy.module == pb.module);
      CHECK(copy.seen == pb.seen);
      CHECK(copy.kube == pb.kube);
      CHECK(copy.diags.blank());
      // The comparison sees the ranges: the part of the other file differs from the copy's source.
      if (!pa.module.rules.empty() || !pa.module.isolations.empty()) CHECK_FALSE(pa.module == pb.module);
      ++compared;
      with_rules += !pa.module.rules.empty();
      with_kube += !pa.kube.pods.empty() || !pa.kube.controllers.empty();
      with_admin += !pa.module.admin_rules.empty() || !pa.module.baseline_rules.empty();
      with_pools += !pa.module.pools.empty();
      with_seen += !pa.seen.first.empty();
    }
  }
  // The files exercise what a part can hold.
  CHECK(parsed > 300);
  CHECK(compared > 200);
  CHECK(with_rules > 100);
  CHECK(with_kube > 5);
  CHECK(with_admin > 5);
  CHECK(with_pools > 3);
  CHECK(with_seen > 100);
}
