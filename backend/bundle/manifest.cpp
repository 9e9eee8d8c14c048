// manifest.json: the bundle's description, written by `moat build`, read by the runtime.
#include "backend/bundle/manifest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backend/bundle/bundle_names.h"
#include "backend/bundle/datapath_abi.h"
#include "backend/bundle/sha256.h"

namespace moat::bundle {

using nlohmann::json;
namespace fs = std::filesystem;

const ObjectEntry* Manifest::find_object(const std::string& name) const {
  for (const ObjectEntry& o : objects)
    if (o.name == name) return &o;
  return nullptr;
}

const ObjectEntry* Manifest::object_for_pool(const std::string& pool) const {
  for (const PoolEntry& p : pools)
    if (p.name == pool) return find_object(p.object);
  return find_object("default");
}

const std::vector<uint8_t>* Bundle::object_bytes(const std::string& name) const {
  for (size_t i = 0; i < manifest.objects.size(); ++i)
    if (manifest.objects[i].name == name) return &objects[i];
  return nullptr;
}

namespace {

// ---- IR pieces -> JSON ----

const char* op_name(LabelRequirement::Op op) {
  switch (op) {
  case LabelRequirement::Op::In: return "In";
  case LabelRequirement::Op::NotIn: return "NotIn";
  case LabelRequirement::Op::Exists: return "Exists";
  case LabelRequirement::Op::DoesNotExist: return "DoesNotExist";
  }
  return "?";
}

json requirements_json(const std::vector<LabelRequirement>& reqs) {
  json a = json::array();
  for (const LabelRequirement& r : reqs) a.push_back({{"key", r.key}, {"op", op_name(r.op)}, {"values", r.values}});
  return a;
}

json selector_json(const EndpointSelector& s) {
  return {{"namespaces", requirements_json(s.namespaces.reqs)}, {"pods", requirements_json(s.pods.reqs)}};
}

/// The selector table: equal selectors (by their requirements) share one index.
struct SelectorTable {
  std::vector<const EndpointSelector*> list;
  std::unordered_map<std::string, size_t> index;
  static void key_of(const std::vector<LabelRequirement>& reqs, std::string& k) {
    for (const LabelRequirement& r : reqs) {
      k += r.key;
      k += '\x01';
      k += static_cast<char>('0' + static_cast<int>(r.op));
      for (const std::string& v : r.values) k += '\x02' + v;
      k += '\x03';
    }
  }
  size_t add(const EndpointSelector& s) {
    std::string k;
    key_of(s.namespaces.reqs, k);
    k += '\x04';
    key_of(s.pods.reqs, k);
    auto [it, fresh] = index.emplace(std::move(k), list.size());
    if (fresh) list.push_back(&s);
    return it->second;
  }
  json to_json() const {
    json a = json::array();
    for (const EndpointSelector* s : list) a.push_back(selector_json(*s));
    return a;
  }
};

json fqdn_json(const FqdnMatch& f) { return {{"pattern", f.pattern}, {"value", f.value}}; }

json peer_json(const Peer& p, SelectorTable& sel) {
  switch (p.kind) {
  case Peer::Kind::Any: return {{"kind", "any"}};
  case Peer::Kind::Endpoints: return {{"kind", "endpoints"}, {"selector", sel.add(p.endpoints)}};
  case Peer::Kind::Cidr: {
    json ex = json::array();
    for (const IpPrefix& e : p.except) ex.push_back(e.str());
    json j = {{"kind", "cidr"}, {"cidr", p.cidr.str()}, {"except", ex}};
    if (p.cidr_any_address) j["any_address"] = true;  // only when set: older manifests stay as they were
    return j;
  }
  case Peer::Kind::Entity: return {{"kind", "entity"}, {"entity", to_string(p.entity)}};
  case Peer::Kind::Fqdn: return {{"kind", "fqdn"}, {"fqdn", fqdn_json(p.fqdn)}};
  case Peer::Kind::Nodes: return {{"kind", "nodes"}, {"nodes", requirements_json(p.nodes.reqs)}};
  }
  return {};
}

json ports_json(const std::vector<PortMatch>& ports) {
  json a = json::array();
  for (const PortMatch& pm : ports) {
    json j = {{"proto", to_string(pm.proto)}};
    if (pm.name.empty()) {
      j["lo"] = pm.lo;
      j["hi"] = pm.hi;
    } else {
      j["name"] = pm.name;
    }
    a.push_back(std::move(j));
  }
  return a;
}

json plan_json(const DatapathPlan& p) {
  json dirs = json::object();
  for (Direction d : {Direction::Ingress, Direction::Egress}) {
    const DirectionPlan& dp = p[d];
    dirs[to_string(d)] = {{"enabled", dp.enabled}, {"specific_lookup", dp.specific_lookup},
                          {"any_lookup", dp.any_lookup}, {"ipcache", dp.ipcache}, {"ct_write", dp.ct_write},
                          {"exact_ports", dp.exact_ports}, {"port_prefixes", dp.port_prefixes}};
  }
  return {{"directions", dirs}, {"rule_count", p.rule_count}, {"ipcache_prefixes", p.ipcache_prefixes},
          {"max_ipcache", p.max_ipcache},
          {"max_policy", p.max_policy}, {"max_endpoints", p.max_endpoints},
          {"max_conntrack", p.max_conntrack}, {"max_fragments", p.max_fragments}};
}

json taints_json(const std::vector<Taint>& ts) {
  json a = json::array();
  for (const Taint& t : ts) a.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
  return a;
}

// ---- JSON -> IR pieces (throws json exceptions; caught in manifest_from_json) ----

LabelRequirement::Op parse_op(const std::string& s) {
  if (s == "In") return LabelRequirement::Op::In;
  if (s == "NotIn") return LabelRequirement::Op::NotIn;
  if (s == "Exists") return LabelRequirement::Op::Exists;
  if (s == "DoesNotExist") return LabelRequirement::Op::DoesNotExist;
  throw std::runtime_error("unknown selector operator '" + s + "'");
}

std::vector<LabelRequirement> parse_requirements(const json& a) {
  std::vector<LabelRequirement> out;
  for (const json& j : a) {
    LabelRequirement r;
    r.key = j.at("key").get<std::string>();
    r.op = parse_op(j.at("op").get<std::string>());
    r.values = j.at("values").get<std::vector<std::string>>();
    out.push_back(std::move(r));
  }
  return out;
}

EndpointSelector parse_selector(const json& j) {
  EndpointSelector s;
  s.namespaces.reqs = parse_requirements(j.at("namespaces"));
  s.pods.reqs = parse_requirements(j.at("pods"));
  return s;
}

const EndpointSelector& selector_at(const std::vector<EndpointSelector>& table, const json& j) {
  size_t i = j.get<size_t>();
  if (i >= table.size()) throw std::runtime_error("selector index out of range");
  return table[i];
}

IpPrefix parse_prefix(const json& j) {
  auto p = IpPrefix::parse(j.get<std::string>());
  if (!p) throw std::runtime_error("invalid prefix '" + j.get<std::string>() + "'");
  return *p;
}

FqdnMatch parse_fqdn(const json& j) {
  FqdnMatch f;
  f.pattern = j.at("pattern").get<bool>();
  f.value = j.at("value").get<std::string>();
  return f;
}

Peer parse_peer(const json& j, const std::vector<EndpointSelector>& sel) {
  Peer p;
  std::string kind = j.at("kind").get<std::string>();
  if (kind == "any") {
    p.kind = Peer::Kind::Any;
  } else if (kind == "endpoints") {
    p.kind = Peer::Kind::Endpoints;
    p.endpoints = selector_at(sel, j.at("selector"));
  } else if (kind == "cidr") {
    p.kind = Peer::Kind::Cidr;
    p.cidr = parse_prefix(j.at("cidr"));
    for (const json& e : j.at("except")) p.except.push_back(parse_prefix(e));
    p.cidr_any_address = j.value("any_address", false);
  } else if (kind == "entity") {
    p.kind = Peer::Kind::Entity;
    auto e = parse_entity(j.at("entity").get<std::string>());
    if (!e) throw std::runtime_error("unknown entity");
    p.entity = *e;
  } else if (kind == "fqdn") {
    p.kind = Peer::Kind::Fqdn;
    p.fqdn = parse_fqdn(j.at("fqdn"));
  } else if (kind == "nodes") {
    p.kind = Peer::Kind::Nodes;
    p.nodes.reqs = parse_requirements(j.at("nodes"));
  } else {
    throw std::runtime_error("unknown peer kind '" + kind + "'");
  }
  return p;
}

std::vector<PortMatch> parse_ports(const json& a) {
  std::vector<PortMatch> out;
  for (const json& j : a) {
    PortMatch pm;
    auto proto = parse_protocol(j.at("proto").get<std::string>());
    if (!proto) throw std::runtime_error("unknown protocol");
    pm.proto = *proto;
    if (j.contains("name")) {
      pm.name = j.at("name").get<std::string>();
    } else {
      pm.lo = j.at("lo").get<uint16_t>();
      pm.hi = j.at("hi").get<uint16_t>();
    }
    out.push_back(std::move(pm));
  }
  return out;
}

Direction parse_dir(const json& j) {
  std::string s = j.get<std::string>();
  if (s == "ingress") return Direction::Ingress;
  if (s == "egress") return Direction::Egress;
  throw std::runtime_error("unknown direction '" + s + "'");
}

DatapathPlan parse_plan(const json& j) {
  DatapathPlan p;
  for (Direction d : {Direction::Ingress, Direction::Egress}) {
    const json& dj = j.at("directions").at(to_string(d));
    DirectionPlan& dp = p.dir[static_cast<int>(d)];
    dp.enabled = dj.at("enabled").get<bool>();
    dp.specific_lookup = dj.at("specific_lookup").get<bool>();
    dp.any_lookup = dj.at("any_lookup").get<bool>();
    dp.ipcache = dj.at("ipcache").get<bool>();
    dp.ct_write = dj.at("ct_write").get<bool>();
    dp.exact_ports = dj.at("exact_ports").get<bool>();
    dp.port_prefixes = dj.at("port_prefixes").get<bool>();
  }
  p.ipcache_prefixes = j.at("ipcache_prefixes").get<bool>();
  p.rule_count = j.at("rule_count").get<uint32_t>();
  p.max_ipcache = j.at("max_ipcache").get<uint32_t>();
  p.max_policy = j.at("max_policy").get<uint32_t>();
  p.max_endpoints = j.at("max_endpoints").get<uint32_t>();
  p.max_conntrack = j.at("max_conntrack").get<uint32_t>();
  p.max_fragments = j.at("max_fragments").get<uint32_t>();
  return p;
}

std::vector<Taint> parse_taints(const json& a) {
  std::vector<Taint> out;
  for (const json& j : a)
    out.push_back({j.at("key").get<std::string>(), j.at("value").get<std::string>(),
                   j.at("effect").get<std::string>(), {}});
  return out;
}

// ---- compact streaming writer for big rule lists (same text nlohmann's dump(-1) gives) ----

void put_string(std::string& out, const std::string& v) {
  // Most strings need no escaping: appended as they are (the bytes nlohmann would write).
  bool plain = std::all_of(v.begin(), v.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    out += json(v).dump();
    return;
  }
  out += '"';
  out += v;
  out += '"';
}

void put_requirements(std::string& out, const std::vector<LabelRequirement>& reqs) {
  out += '[';
  for (size_t i = 0; i < reqs.size(); ++i) {
    const LabelRequirement& r = reqs[i];
    out += i ? ",{\"key\":" : "{\"key\":";
    put_string(out, r.key);
    out += ",\"op\":\"";
    out += op_name(r.op);
    out += "\",\"values\":[";
    for (size_t k = 0; k < r.values.size(); ++k) {
      if (k) out += ',';
      put_string(out, r.values[k]);
    }
    out += "]}";
  }
  out += ']';
}

/// selector_json(s).dump(), written directly.
void put_selector(std::string& out, const EndpointSelector& s) {
  out += "{\"namespaces\":";
  put_requirements(out, s.namespaces.reqs);
  out += ",\"pods\":";
  put_requirements(out, s.pods.reqs);
  out += '}';
}

void put_rule(std::string& out, const Rule& r, const RuleOrigin* origin, SelectorTable& sel) {
  out += "{\"action\":";
  put_string(out, to_string(r.action));
  out += ",\"dir\":";
  put_string(out, to_string(r.dir));
  out += ",\"dns\":[";
  for (size_t i = 0; i < r.dns.size(); ++i) {
    if (i) out += ',';
    out += fqdn_json(r.dns[i]).dump();
  }
  out += "],\"id\":" + std::to_string(r.id) + ",\"location\":";
  put_string(out, origin ? origin->location : "");
  out += ",\"origin\":";
  put_string(out, origin ? origin->origin : r.origin);
  out += ",\"peer\":";
  if (r.peer.kind == Peer::Kind::Endpoints) {
    out += "{\"kind\":\"endpoints\",\"selector\":" + std::to_string(sel.add(r.peer.endpoints)) + "}";
  } else if (r.peer.kind == Peer::Kind::Cidr) {
    out += r.peer.cidr_any_address ? "{\"any_address\":true,\"cidr\":\"" : "{\"cidr\":\"";
    out += r.peer.cidr.str() + "\",\"except\":[";
    for (size_t i = 0; i < r.peer.except.size(); ++i) out += (i ? ",\"" : "\"") + r.peer.except[i].str() + "\"";
    out += "],\"kind\":\"cidr\"}";
  } else {
    out += peer_json(r.peer, sel).dump();
  }
  out += ",\"ports\":[";
  for (size_t i = 0; i < r.ports.size(); ++i) {
    const PortMatch& pm = r.ports[i];
    if (i) out += ',';
    if (pm.name.empty())
      out += "{\"hi\":" + std::to_string(pm.hi) + ",\"lo\":" + std::to_string(pm.lo) + ",\"proto\":\"" +
             to_string(pm.proto) + "\"}";
    else
      out += "{\"name\":" + json(pm.name).dump() + ",\"proto\":\"" + to_string(pm.proto) + "\"}";
  }
  out += "],\"subject\":" + std::to_string(sel.add(r.subject)) + "}";
}

json rule_json(const Rule& r, const RuleOrigin* origin, SelectorTable& sel) {
  json dns = json::array();
  for (const FqdnMatch& f : r.dns) dns.push_back(fqdn_json(f));
  json rj = {{"id", r.id},
             {"dir", to_string(r.dir)},
             {"action", to_string(r.action)},
             {"subject", sel.add(r.subject)},
             {"peer", peer_json(r.peer, sel)},
             {"ports", ports_json(r.ports)},
             {"dns", dns},
             {"origin", origin ? origin->origin : r.origin},
             {"location", origin ? origin->location : ""}};
  if (r.tier == Tier::Admin) rj["priority"] = r.priority;
  return rj;
}

/// One rule of `tier`; ids must count 0, 1, 2, ... in each tier.
Rule parse_rule(const json& rj, const std::vector<EndpointSelector>& sel, Tier tier, size_t expected_id) {
  Rule r;
  r.tier = tier;
  r.id = rj.at("id").get<uint32_t>();
  if (r.id != expected_id) throw std::runtime_error("rule ids must be 0, 1, 2, ...");
  r.dir = parse_dir(rj.at("dir"));
  std::string action = rj.at("action").get<std::string>();
  // Pass only in the admin tier, Allow and Deny anywhere; anything else is refused.
  if (action == "allow") r.action = Action::Allow;
  else if (action == "deny") r.action = Action::Deny;
  else if (action == "pass" && tier == Tier::Admin) r.action = Action::Pass;
  else throw std::runtime_error("rule action '" + action + "' is not valid in the " + to_string(tier) + " tier");
  r.subject = selector_at(sel, rj.at("subject"));
  r.peer = parse_peer(rj.at("peer"), sel);
  r.ports = parse_ports(rj.at("ports"));
  for (const json& d : rj.at("dns")) r.dns.push_back(parse_fqdn(d));
  r.origin = rj.at("origin").get<std::string>();
  if (tier == Tier::Admin) r.priority = rj.at("priority").get<int32_t>();
  return r;
}

bool write_file(const fs::path& p, const void* data, size_t size, std::string& error) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.flush();
  if (!out) {
    error = "cannot write " + p.string();
    return false;
  }
  return true;
}

} // namespace

std::string manifest_to_json(const Manifest& m) {
  SelectorTable sel;
  json j;
  j["format_version"] = m.format_version;
  j["generator"] = m.generator;
  j["cni"] = to_string(m.cni);
  j["serial"] = m.serial;
  if (m.not_after) j["not_after"] = m.not_after;
  json sources = json::array();
  for (const SourceHash& s : m.sources) sources.push_back({{"path", s.path}, {"sha256", s.sha256}});
  j["sources"] = sources;
  json objects = json::array();
  for (const ObjectEntry& o : m.objects)
    objects.push_back({{"name", o.name}, {"file", o.file}, {"sha256", o.sha256}, {"plan", plan_json(o.plan)}});
  j["objects"] = objects;
  j["reserved_identities"] = {{"any", abi::kIdentityAny},
                              {"host", abi::kIdentityHost},
                              {"world", abi::kIdentityWorld},
                              {"remote-node", abi::kIdentityRemoteNode},
                              {"kube-apiserver", abi::kIdentityKubeApiserver},
                              {"first_workload", abi::kFirstWorkloadIdentity},
                              {"first_external", abi::kFirstExternalIdentity}};
  // Rules: a json tree for small manifests (pretty-printed), streamed text for big ones.
  bool big = m.policy.rules.size() > 2000;
  json rules = json::array();
  std::string rules_text;
  for (size_t i = 0; i < m.policy.rules.size(); ++i) {
    const Rule& r = m.policy.rules[i];
    const RuleOrigin* origin = i < m.origins.size() ? &m.origins[i] : nullptr;
    if (big) {
      rules_text += i ? "," : "[";
      put_rule(rules_text, r, origin, sel);
      continue;
    }
    rules.push_back(rule_json(r, origin, sel));
  }
  if (big) rules_text += m.policy.rules.empty() ? "[]" : "]";
  // The admin tiers (few rules: always a json tree), only when present, so manifests
  // without them stay as they were.
  for (Tier t : {Tier::Admin, Tier::Baseline}) {
    const std::vector<Rule>& tier = m.policy.tier_rules(t);
    if (tier.empty()) continue;
    json list = json::array();
    for (const Rule& r : tier) list.push_back(rule_json(r, nullptr, sel));
    j[t == Tier::Admin ? "admin_rules" : "baseline_rules"] = std::move(list);
  }
  json isolations = json::array();
  std::string isolations_text;
  for (size_t i = 0; i < m.policy.isolations.size(); ++i) {
    const Isolation& iso = m.policy.isolations[i];
    if (!big) {
      isolations.push_back({{"subject", sel.add(iso.subject)}, {"dir", to_string(iso.dir)}, {"origin", iso.origin}});
      continue;
    }
    isolations_text += i ? ",{\"dir\":" : "[{\"dir\":";
    put_string(isolations_text, to_string(iso.dir));
    isolations_text += ",\"origin\":";
    put_string(isolations_text, iso.origin);
    isolations_text += ",\"subject\":" + std::to_string(sel.add(iso.subject)) + "}";
  }
  if (big) isolations_text += m.policy.isolations.empty() ? "[]" : "]";
  json pools = json::array();
  for (const PoolEntry& p : m.pools) {
    json admits = json::array();
    for (const EndpointSelector& a : p.admits) admits.push_back(sel.add(a));
    pools.push_back({{"name", p.name},
                     {"object", p.object},
                     {"requirements", requirements_json(p.requirements)},
                     {"labels", p.labels},
                     {"taints", taints_json(p.taints)},
                     {"startup_taints", taints_json(p.startup_taints)},
                     {"admits", admits}});
  }
  j["pools"] = std::move(pools);
  if (!big) {
    j["selectors"] = sel.to_json();
    j["isolations"] = std::move(isolations);
    j["rules"] = std::move(rules);
    return j.dump(2) + "\n";
  }
  // One line when big (a 100k-rule manifest would otherwise be mostly spaces); the big
  // lists are written as text and spliced in where placeholders sort (nlohmann orders an
  // object's keys, so the text is what dump() of the whole tree would give).
  std::string selectors_text = "[";
  for (size_t i = 0; i < sel.list.size(); ++i) {
    if (i) selectors_text += ',';
    put_selector(selectors_text, *sel.list[i]);
  }
  selectors_text += ']';
  std::pair<const char*, const std::string*> spliced[] = {
      {"isolations", &isolations_text}, {"rules", &rules_text}, {"selectors", &selectors_text}};
  for (const auto& [key, text] : spliced) j[key] = nullptr;
  std::string head = j.dump(), text;
  text.reserve(head.size() + isolations_text.size() + rules_text.size() + selectors_text.size() + 1);
  size_t from = 0;
  for (const auto& [key, list] : spliced) {  // in key order, as dump() placed them
    std::string placeholder = "\"" + std::string(key) + "\":null";
    size_t at = head.find(placeholder, from);
    text.append(head, from, at - from);
    text += "\"" + std::string(key) + "\":";
    text += *list;
    from = at + placeholder.size();
  }
  text.append(head, from, std::string::npos);
  text += '\n';
  return text;
}

std::optional<Manifest> manifest_from_json(const std::string& text, std::string& error) {
  try {
    json j = json::parse(text);
    Manifest m;
    m.format_version = j.at("format_version").get<int>();
    if (m.format_version != kManifestFormatVersion) {
      error = "unsupported manifest format version " + std::to_string(m.format_version);
      return std::nullopt;
    }
    m.generator = j.at("generator").get<std::string>();
    if (j.contains("cni")) {
      // Absent in manifests written before profiles: those were built as the default reads.
      auto cni = parse_cni_profile(j.at("cni").get<std::string>());
      if (!cni) throw std::runtime_error("unknown CNI profile '" + j.at("cni").get<std::string>() + "'");
      m.cni = *cni;
    }
    m.serial = j.value("serial", uint64_t{0});
    m.not_after = j.value("not_after", int64_t{0});
    for (const json& s : j.at("sources")) m.sources.push_back({s.at("path"), s.at("sha256")});
    for (const json& o : j.at("objects")) {
      ObjectEntry e{o.at("name"), o.at("file"), o.at("sha256"), parse_plan(o.at("plan"))};
      // Names become file names (and log text): only what the backend emits is accepted.
      if (auto why = check_object_name(e.name)) throw std::runtime_error("object name '" + e.name + "': " + *why);
      if (e.file != object_file(e.name))
        throw std::runtime_error("object '" + e.name + "' must be in file " + object_file(e.name) + ", not '" + e.file + "'");
      if (m.find_object(e.name)) throw std::runtime_error("object '" + e.name + "' is listed twice");
      m.objects.push_back(std::move(e));
    }
    std::vector<EndpointSelector> sel;
    for (const json& s : j.at("selectors")) sel.push_back(parse_selector(s));
    for (const json& rj : j.at("rules")) {
      Rule r = parse_rule(rj, sel, Tier::Policy, m.policy.rules.size());
      m.origins.push_back({r.id, r.origin, rj.at("location").get<std::string>()});
      m.policy.rules.push_back(std::move(r));
    }
    for (Tier t : {Tier::Admin, Tier::Baseline}) {
      const char* key = t == Tier::Admin ? "admin_rules" : "baseline_rules";
      if (!j.contains(key)) continue;
      std::vector<Rule>& tier = t == Tier::Admin ? m.policy.admin_rules : m.policy.baseline_rules;
      for (const json& rj : j.at(key)) tier.push_back(parse_rule(rj, sel, t, tier.size()));
    }
    for (const json& ij : j.at("isolations")) {
      Isolation iso;
      iso.subject = selector_at(sel, ij.at("subject"));
      iso.dir = parse_dir(ij.at("dir"));
      iso.origin = ij.at("origin").get<std::string>();
      m.policy.isolations.push_back(std::move(iso));
    }
    for (const json& pj : j.at("pools")) {
      PoolEntry p;
      p.name = pj.at("name").get<std::string>();
      p.object = pj.at("object").get<std::string>();
      p.requirements = parse_requirements(pj.at("requirements"));
      p.labels = pj.at("labels").get<Labels>();
      p.taints = parse_taints(pj.at("taints"));
      p.startup_taints = parse_taints(pj.at("startup_taints"));
      for (const json& a : pj.at("admits")) p.admits.push_back(selector_at(sel, a));
      m.pools.push_back(std::move(p));
    }
    for (const PoolEntry& p : m.pools)
      if (!m.find_object(p.object)) throw std::runtime_error("pool '" + p.name + "' names an unknown object");
    return m;
  } catch (const std::exception& e) {
    error = std::string("invalid manifest: ") + e.what();
    return std::nullopt;
  }
}

std::optional<std::string> read_bundle_file(const std::string& path, size_t limit, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > limit) {
      error = path + " is larger than " + std::to_string(limit) + " bytes";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  return out;
}

std::optional<Bundle> read_bundle(const std::string& dir, std::string& error, const Authenticator& authenticate) {
  // Limits far above real bundles (a 100k-rule manifest is ~30 MB), so a hostile file
  // cannot make the agent allocate without bound.
  constexpr size_t kMaxManifest = size_t(1) << 30, kMaxObject = size_t(256) << 20, kMaxSignature = 4096;
  fs::path root(dir);
  Bundle b;
  auto text = read_bundle_file((root / kManifestFile).string(), kMaxManifest, error);
  if (!text) return std::nullopt;
  if (authenticate) {
    std::string sig_path = (root / kSignatureFile).string();
    std::optional<std::string> sig;
    if (fs::exists(sig_path) && !(sig = read_bundle_file(sig_path, kMaxSignature, error))) return std::nullopt;
    if (!authenticate(*text, sig, error)) return std::nullopt;
  }
  auto m = manifest_from_json(*text, error);
  if (!m) return std::nullopt;
  for (const ObjectEntry& o : m->objects) {
    // o.file passed check_object_name/object_file in manifest_from_json: a plain file name.
    auto bytes = read_bundle_file((root / o.file).string(), kMaxObject, error);
    if (!bytes) {
      error = "cannot read object: " + error;
      return std::nullopt;
    }
    if (sha256_hex(*bytes) != o.sha256) {
      error = "object " + o.file + " does not match its sha256 in the manifest";
      return std::nullopt;
    }
    b.objects.emplace_back(bytes->begin(), bytes->end());
  }
  b.manifest = std::move(*m);
  b.manifest_text = std::move(*text);
  return b;
}

bool write_bundle(const std::string& dir, Manifest manifest, const std::vector<std::vector<uint8_t>>& objects,
                  std::string& error, const Signer& sign) {
  std::error_code ec;
  fs::path target = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (target.has_filename() == false) target = target.parent_path();
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      error = dir + " exists and is not a directory";
      return false;
    }
    if (!fs::is_empty(target, ec) && !fs::exists(target / kManifestFile, ec)) {
      error = dir + " is not empty and holds no moat bundle; refusing to replace it";
      return false;
    }
  }
  fs::path parent = target.parent_path();
  fs::create_directories(parent, ec);
  fs::path tmp = parent / ("." + target.filename().string() + ".tmp-" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) {
    error = "cannot create " + tmp.string() + ": " + ec.message();
    return false;
  }
  auto fail = [&](const std::string& msg) {
    error = msg;
    std::error_code ignore;
    fs::remove_all(tmp, ignore);
    return false;
  };
  if (objects.size() != manifest.objects.size()) return fail("internal error: object count mismatch");
  for (size_t i = 0; i < objects.size(); ++i) {
    ObjectEntry& o = manifest.objects[i];
    if (auto why = check_object_name(o.name)) return fail("internal error: object name '" + o.name + "': " + *why);
    o.file = object_file(o.name);
    o.sha256 = sha256_hex(objects[i].data(), objects[i].size());
    if (!write_file(tmp / o.file, objects[i].data(), objects[i].size(), error)) return fail(error);
  }
  std::string text = manifest_to_json(manifest);
  if (!write_file(tmp / kManifestFile, text.data(), text.size(), error)) return fail(error);
  if (sign) {
    std::string sig = sign(text);
    if (!write_file(tmp / kSignatureFile, sig.data(), sig.size(), error)) return fail(error);
  }
  // Swap in: move the old bundle aside, rename the new one into place, then delete the old.
  fs::path old = parent / ("." + target.filename().string() + ".old-" + std::to_string(getpid()));
  bool had_old = fs::exists(target, ec);
  if (had_old) {
    fs::rename(target, old, ec);
    if (ec) return fail("cannot replace " + dir + ": " + ec.message());
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignore;
    if (had_old) fs::rename(old, target, ignore);
    return fail("cannot create " + dir + ": " + ec.message());
  }
  if (had_old) fs::remove_all(old, ec);
  return true;
}

} // namespace moat::bundle
