// Kernel test gate and small fixtures.
#include "kernel_env.h"

#include <cstdio>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "backend/backend.h"
#include "runtime/loader.h"

namespace moat::test {

bool kernel_or_skip() {
  std::string why;
  if (runtime::kernel_bpf_available(why)) return true;
  const char* req = std::getenv("MOAT_REQUIRE_KERNEL");
  if (req && std::string(req) == "1") {
    FAIL("kernel required (MOAT_REQUIRE_KERNEL=1) but unavailable: " << why);
    return false;
  }
  WARN("SKIPPED: needs the kernel (" << why << ")");
  std::printf("SKIPPED: %s\n", why.c_str());
  return false;
}

std::vector<uint8_t> compile_for(const Module& m) {
  std::vector<uint8_t> elf;
  std::string error;
  bool ok = backend::compile_datapath(bundle::plan_datapath(m), "test", elf, error);
  INFO(error);
  REQUIRE(ok);
  return elf;
}

Endpoint workload(const std::string& ns, const std::string& name, Labels labels, const std::string& ip,
                  std::vector<NamedPort> ports) {
  Endpoint e;
  e.name = ns + "/" + name;
  e.kind = EndpointKind::Workload;
  e.ns = ns;
  e.ns_labels = {{kNamespaceNameLabel, ns}};
  e.labels = std::move(labels);
  e.ips = {*IpAddr::parse(ip)};
  e.ports = std::move(ports);
  return e;
}

Endpoint external(const std::string& name, const std::string& ip, std::vector<std::string> dns) {
  Endpoint e;
  e.name = name;
  e.kind = EndpointKind::External;
  e.ips = {*IpAddr::parse(ip)};
  e.dns_names = std::move(dns);
  return e;
}

} // namespace moat::test
