// build_bundle: L7 refusal (E701), plans that emit only the lookups the policy needs, and
// objects that carry the sections, maps and BTF libbpf expects (checked by reading the ELF;
// loading them is tests/kernel's job).
#include <catch2/catch.hpp>

#include <cstring>
#include <elf.h>

#include "backend/backend.h"
#include "backend/bundle/datapath_abi.h"

using namespace moat;

namespace {

Rule allow_rule(Direction dir, Peer peer) {
  Rule r;
  r.dir = dir;
  r.peer = std::move(peer);
  return r;
}

std::vector<std::string> section_names(const std::vector<uint8_t>& elf) {
  std::vector<std::string> names;
  REQUIRE(elf.size() > sizeof(Elf64_Ehdr));
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof(eh));
  REQUIRE(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
  CHECK(eh.e_machine == EM_BPF);
  Elf64_Shdr strtab;
  std::memcpy(&strtab, elf.data() + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(strtab));
  for (int i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
    names.emplace_back(reinterpret_cast<const char*>(elf.data() + strtab.sh_offset + sh.sh_name));
  }
  return names;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

} // namespace

TEST_CASE("build refuses L7 HTTP rules with E701", "[backend]") {
  Module m;
  Rule r = allow_rule(Direction::Ingress, Peer{});
  r.http.push_back(HttpRule{"GET", "/api", "", {}, {}});
  r.range = SourceRange::at(0, 3, 5);
  m.add_rule(r);
  Diagnostics diags;
  SourceManager sm;
  sm.add("p.moat", "x\ny\nz\n");
  backend::BuildOutput out;
  std::string error;
  CHECK_FALSE(backend::build_bundle(m, sm, out, diags, error));
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all()[0].code == Code::E701);
  CHECK(diags.all()[0].range.line == 3);
  CHECK(out.objects.empty());
}

TEST_CASE("plans emit only the lookups the policy needs", "[backend]") {
  Module empty;
  bundle::DatapathPlan p = bundle::plan_datapath(empty);
  CHECK_FALSE(p[Direction::Ingress].enabled);
  CHECK_FALSE(p[Direction::Egress].enabled);
  CHECK_FALSE(p[Direction::Ingress].ct_write);

  Module any_only;
  any_only.add_rule(allow_rule(Direction::Egress, Peer{}));  // peer any
  p = bundle::plan_datapath(any_only);
  CHECK(p[Direction::Egress].any_lookup);
  CHECK_FALSE(p[Direction::Egress].specific_lookup);
  CHECK_FALSE(p[Direction::Egress].ipcache);
  CHECK_FALSE(p[Direction::Ingress].enabled);
  CHECK(p[Direction::Ingress].ct_write);  // replies of egress flows must be recognised

  Module selectors;
  Peer sel;
  sel.kind = Peer::Kind::Endpoints;
  selectors.add_rule(allow_rule(Direction::Ingress, sel));
  p = bundle::plan_datapath(selectors);
  CHECK(p[Direction::Ingress].specific_lookup);
  CHECK_FALSE(p[Direction::Ingress].any_lookup);
  CHECK(p[Direction::Ingress].ipcache);

  // An egress named port depends on the remote workload even with peer any.
  Module named;
  Rule r = allow_rule(Direction::Egress, Peer{});
  r.ports.push_back(PortMatch{Protocol::TCP, 0, 0, "http", {}});
  named.add_rule(r);
  p = bundle::plan_datapath(named);
  CHECK(p[Direction::Egress].specific_lookup);
  CHECK_FALSE(p[Direction::Egress].any_lookup);
}

TEST_CASE("objects carry programs, BTF maps, license and BTF", "[backend]") {
  Module m;
  Peer sel;
  sel.kind = Peer::Kind::Endpoints;
  m.add_rule(allow_rule(Direction::Ingress, sel));
  std::vector<uint8_t> elf;
  std::string error;
  REQUIRE(backend::compile_datapath(bundle::plan_datapath(m), "t", elf, error));
  auto names = section_names(elf);
  for (const char* s : {"tc", "cgroup_skb/ingress", "cgroup_skb/egress", ".maps", "license", ".BTF", ".BTF.ext"})
    CHECK(has(names, s));
  std::string bytes(elf.begin(), elf.end());
  CHECK(bytes.find("Dual BSD/GPL") != std::string::npos);
  for (const char* map : {abi::kMapIpcache, abi::kMapPolicy, abi::kMapConntrack, abi::kMapEvents})
    CHECK(bytes.find(map) != std::string::npos);

  // build_bundle: one default object; a pool whose workloads need the same lookups shares it.
  NodePool pool;
  pool.name = "gpu";
  m.pools.push_back(pool);
  SourceManager sm;
  Diagnostics diags;
  backend::BuildOutput out;
  REQUIRE(backend::build_bundle(m, sm, out, diags, error));
  REQUIRE(out.objects.size() == 1);
  REQUIRE(out.manifest.pools.size() == 1);
  CHECK(out.manifest.pools[0].object == "default");
}
