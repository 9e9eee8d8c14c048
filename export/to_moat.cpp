// moat language writer: the inverse of frontend/moat/ lowering, written at cluster scope
// with fully qualified selectors. A moat rule yields both halves of a connection, so the
// two halves of one connection (egress at A to B, ingress at B from A, same action and
// ports) become one `allow A -> B` rule; a half without its other half is written only
// where the half the rule adds changes nothing (an allow whose subject no isolation
// touches), else E915. Isolation is `default deny` of a namespace block or of the cluster.
#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "export/selector_logic.h"
#include "ir/subject_index.h"
#include "export/targets.h"

namespace moat::exporter {

namespace {

using Op = LabelRequirement::Op;

bool plain_word(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  if (s.back() == '-' || s.back() == '.' || s.find("..") != std::string::npos || s.find(".-") != std::string::npos ||
      s.find("-.") != std::string::npos)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string value_text(const std::string& v) { return plain_word(v) ? v : quoted(v); }

std::string key_text(const std::string& k) {
  size_t slash = k.find('/');
  bool plain = slash == std::string::npos ? plain_word(k)
                                          : plain_word(k.substr(0, slash)) && plain_word(k.substr(slash + 1));
  return plain ? k : quoted(k);
}

std::string term_text(const LabelRequirement& r) {
  std::string values;
  for (const std::string& v : r.values) values += (values.empty() ? "" : ", ") + value_text(v);
  switch (r.op) {
  case Op::In: return r.values.size() == 1 ? key_text(r.key) + ": " + values : key_text(r.key) + " in [" + values + "]";
  case Op::NotIn: return key_text(r.key) + " notin [" + values + "]";
  case Op::Exists: return key_text(r.key);
  case Op::DoesNotExist: return "!" + key_text(r.key);
  }
  return "";
}

std::string selector_text(const LabelSelector& s) {
  if (s.reqs.empty()) return "{}";
  std::string out;
  for (const LabelRequirement& r : s.reqs) out += (out.empty() ? "" : ", ") + term_text(r);
  return "{ " + out + " }";
}

/// At cluster scope: `*`, `{ pods }`, `ns/{ pods }`, `namespace { ns }` or `namespace { ns }/{ pods }`.
std::string endpoints_text(const EndpointSelector& selector) {
  EndpointSelector sel = normalized(selector);
  if (auto ns = single_namespace(sel.namespaces)) return *ns + "/" + selector_text(sel.pods);
  if (sel.namespaces.reqs.empty()) return sel.pods.reqs.empty() ? "*" : selector_text(sel.pods);
  std::string out = "namespace " + selector_text(sel.namespaces);
  return sel.pods.reqs.empty() ? out : out + "/" + selector_text(sel.pods);
}

std::string ports_text(const std::vector<PortMatch>& ports) {
  std::string out;
  for (const PortMatch& pm : ports) {
    std::string item = to_string(pm.proto);
    bool icmp = pm.proto == Protocol::ICMP || pm.proto == Protocol::ICMPv6;
    if (!pm.name.empty()) item += " " + pm.name;
    else if (!(pm.lo == 0 && pm.hi == (icmp ? 255 : 65535)))
      item += pm.lo == pm.hi ? fmt::format(" {}", pm.lo) : fmt::format(" {}..{}", pm.lo, pm.hi);
    out += (out.empty() ? " on " : ", ") + item;
  }
  return out;
}

/// Words the lexer makes keywords; a named port must be a plain word that is none of them
/// (after a protocol the grammar takes a WORD token, not a string).
bool keyword(std::string w) {
  std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* words[] = {"namespace", "default", "deny", "allow", "ingress", "egress", "workload", "peer",
                                "cidr", "except", "fqdn", "dns", "on", "in", "notin", "nodepool", "require", "taint",
                                "startup-taint", "label", "limits", "admits", "prove", "isolated", "reachable", "from",
                                "within", "expect", "world", "cluster", "host", "remote-node", "kube-apiserver", "all",
                                "tcp", "udp", "sctp", "icmp", "icmpv6", "any"};
  return std::find(std::begin(words), std::end(words), w) != std::end(words);
}

bool is_kube_dns(const EndpointSelector& sel) {
  EndpointSelector dns;
  dns.namespaces.reqs.push_back(LabelRequirement{kNamespaceNameLabel, Op::In, {"kube-system"}, {}});
  dns.pods.reqs.push_back(LabelRequirement{"k8s-app", Op::In, {"kube-dns"}, {}});
  return same_selector(sel, dns);
}

/// The ports `allow x -> dns on P` keeps: udp 53 and tcp 53 only, each at most once.
bool dns_ports(const std::vector<PortMatch>& ports) {
  if (ports.empty() || ports.size() > 2) return false;
  for (const PortMatch& pm : ports)
    if (!pm.name.empty() || pm.lo != 53 || pm.hi != 53 || (pm.proto != Protocol::UDP && pm.proto != Protocol::TCP))
      return false;
  return ports.size() == 1 || ports[0].proto != ports[1].proto;
}

class MoatWriter {
public:
  explicit MoatWriter(ExportContext& cx) : cx_(cx), used_(cx.m.rules.size(), false) {}

  std::vector<ExportedFile> run() {
    write_namespaces();
    // Isolations and rules in source order, so each file reads like its source.
    struct Item {
      SourceRange range;
      const Isolation* iso;
      size_t rule;
    };
    std::vector<Item> items;
    for (const Isolation& i : cx_.m.isolations) items.push_back({i.range, &i, 0});
    for (size_t i = 0; i < cx_.m.rules.size(); ++i) items.push_back({cx_.m.rules[i].range, nullptr, i});
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      return a.range.file != b.range.file ? a.range.file < b.range.file : a.range.line < b.range.line;
    });
    for (const Item& it : items) {
      if (it.iso) write_isolation(*it.iso);
      else if (!used_[it.rule]) write_rule(it.rule);
    }
    return files_.take();
  }

private:
  /// Declared namespaces have exactly their declared labels (docs/LANGUAGE.md), so the
  /// namespaces of the module are declared, each once, and no other.
  void write_namespaces() {
    for (const auto& [name, labels] : cx_.m.namespaces) {
      std::string& text = files_.text(kNamespacesStem);
      text += "namespace " + name + " {\n";
      for (const auto& [k, v] : labels)
        if (k != kNamespaceNameLabel) text += "  label " + key_text(k) + " = " + value_text(v) + ";\n";
      text += "}\n";
    }
  }

  /// Some selector of the module looks at a namespace label other than the name: then a
  /// namespace block, which fixes its namespace's labels, changes what they match.
  bool namespace_labels_matter() {
    if (!labels_matter_) labels_matter_ = scan_namespace_labels();  // once, not per namespace
    return *labels_matter_;
  }
  bool scan_namespace_labels() const {
    auto looks = [](const EndpointSelector& s) {
      return std::any_of(s.namespaces.reqs.begin(), s.namespaces.reqs.end(),
                         [](const LabelRequirement& r) { return r.key != kNamespaceNameLabel; });
    };
    for (const Rule& r : cx_.m.rules)
      if (looks(r.subject) || (r.peer.kind == Peer::Kind::Endpoints && looks(r.peer.endpoints))) return true;
    return std::any_of(cx_.m.isolations.begin(), cx_.m.isolations.end(),
                       [&](const Isolation& i) { return looks(i.subject); });
  }

  /// Another isolation in the same direction covers every endpoint `iso` covers (of two
  /// equal ones, the later is the redundant one): leaving `iso` out changes nothing.
  bool redundant(const Isolation& iso) {
    const auto& all = cx_.m.isolations;
    size_t i = static_cast<size_t>(&iso - all.data());
    // Only isolations whose subject may overlap iso's can cover it (the index's superset;
    // every isolation against every other would be quadratic in a 25,000-namespace cluster).
    if (!isolations_) isolations_ = isolation_index(cx_.m);
    for (uint32_t j : isolations_->candidates(iso.subject)) {
      if (j == i || all[j].dir != iso.dir || !implies(iso.subject, all[j].subject)) continue;
      if (!implies(all[j].subject, iso.subject) || j < i) return true;
    }
    return false;
  }

  void write_isolation(const Isolation& iso) {
    if (redundant(iso)) return;  // e.g. a NetworkPolicy's podSelector inside a namespace's default deny
    std::string stem = source_stem(cx_.sm, iso.range);
    std::string stmt = fmt::format("default deny {};\n", to_string(iso.dir));
    if (iso.subject.namespaces.reqs.empty() && iso.subject.pods.reqs.empty()) {
      append_isolation(stem, "", iso.dir, stmt);
      return;
    }
    auto ns = single_namespace(iso.subject.namespaces);
    if (!ns || !iso.subject.pods.empty()) {
      refuse(cx_, Code::E914, iso.range, "isolating part of a namespace",
             "`default deny` isolates a whole namespace or the whole cluster");
      return;
    }
    if (!cx_.m.namespaces.count(*ns) && namespace_labels_matter()) {
      refuse(cx_, Code::E914, iso.range, fmt::format("isolating namespace '{}'", *ns),
             "its `namespace` block would fix the labels of a namespace the inputs leave open, and the "
             "policies look at namespace labels");
      return;
    }
    append_isolation(stem, *ns, iso.dir, "namespace " + *ns + " {\n  " + stmt + "}\n");
  }

  /// Appends `text`, the isolation of `ns` ("": the cluster) in `dir`; right after the
  /// other direction of the same namespace, the two become one `default deny;`.
  void append_isolation(const std::string& stem, const std::string& ns, Direction dir, const std::string& text) {
    std::string& out = files_.text(stem);
    if (last_iso_ && last_iso_->stem == stem && last_iso_->ns == ns && last_iso_->dir != dir &&
        last_iso_->end == out.size()) {
      out.resize(last_iso_->begin);
      out += ns.empty() ? "default deny;\n" : "namespace " + ns + " {\n  default deny;\n}\n";
      last_iso_.reset();
      return;
    }
    last_iso_ = LastIsolation{stem, ns, dir, out.size(), out.size() + text.size()};
    out += text;
  }

  /// The other half of rule `i`: same action and ports, ends swapped, not used yet.
  std::optional<size_t> find_twin(size_t i) const {
    const Rule& r = cx_.m.rules[i];
    auto matches = [&](size_t j) {
      const Rule& o = cx_.m.rules[j];
      return j != i && !used_[j] && o.dir != r.dir && o.action == r.action && o.http.empty() && o.dns.empty() &&
             o.peer.kind == Peer::Kind::Endpoints && same_selector(o.subject, r.peer.endpoints) &&
             same_selector(o.peer.endpoints, r.subject) && same_ports(o.ports, r.ports);
    };
    if (r.twin >= 0 && static_cast<size_t>(r.twin) < cx_.m.rules.size() && matches(r.twin)) return r.twin;
    for (size_t j = 0; j < cx_.m.rules.size(); ++j)
      if (matches(j)) return j;
    return std::nullopt;
  }

  std::optional<std::string> peer_text(const Rule& r) {
    const Peer& p = r.peer;
    switch (p.kind) {
    case Peer::Kind::Any: return std::string("all");
    case Peer::Kind::Endpoints: return endpoints_text(p.endpoints);
    case Peer::Kind::Cidr: {
      if (p.cidr_any_address) {
        refuse(cx_, Code::E911, p.range, "a CIDR peer that matches cluster addresses",
               "a moat `cidr` matches addresses outside the cluster only");
        return std::nullopt;
      }
      std::string out = "cidr " + p.cidr.str();
      for (size_t i = 0; i < p.except.size(); ++i) out += (i ? ", " : " except ") + p.except[i].str();
      return out;
    }
    case Peer::Kind::Entity:
      if (p.entity == Entity::Init || p.entity == Entity::Health || p.entity == Entity::Unmanaged ||
          p.entity == Entity::Ingress) {
        refuse(cx_, Code::E911, p.range, fmt::format("the entity '{}'", to_string(p.entity)),
               "the language names world, cluster, host, remote-node, kube-apiserver and all");
        return std::nullopt;
      }
      return std::string(to_string(p.entity));
    case Peer::Kind::Fqdn:
      if (r.dir == Direction::Ingress) {
        refuse(cx_, Code::E911, p.range, fmt::format("the FQDN source '{}'", p.fqdn.value),
               "an fqdn can only be a destination");
        return std::nullopt;
      }
      return "fqdn " + quoted(p.fqdn.value);
    case Peer::Kind::Nodes:
      refuse(cx_, Code::E911, p.range, "a nodes peer with a label selector",
             "the language names nodes as the host and remote-node entities, not by their labels");
      return std::nullopt;
    }
    return std::nullopt;
  }

  void write_rule(size_t i) {
    const Rule& r = cx_.m.rules[i];
    used_[i] = true;
    if (!r.http.empty() || !r.dns.empty()) {
      refuse(cx_, Code::E912, r.http.empty() ? r.range : r.http[0].range, r.http.empty() ? "a DNS rule" : "an HTTP rule",
             "the language has no L7 rules");
      return;
    }
    for (const PortMatch& pm : r.ports)
      if (!pm.name.empty() && (keyword(pm.name) || !plain_word(pm.name))) {
        refuse(cx_, Code::E912, pm.range.file == kNoFile ? r.range : pm.range,
               fmt::format("the named port '{}'", pm.name),
               "a port name in the language is a plain word, and this one is a keyword");
        return;
      }
    bool egress = r.dir == Direction::Egress;
    std::string subject = endpoints_text(r.subject), action = to_string(r.action);
    std::string from, to;
    if (r.peer.kind == Peer::Kind::Endpoints) {
      std::string peer = endpoints_text(r.peer.endpoints);
      if (auto j = find_twin(i)) {
        used_[*j] = true;
      } else if (egress && is_kube_dns(r.peer.endpoints) && dns_ports(r.ports)) {
        peer = "dns";  // `dns` yields the egress half only
      } else {
        Direction other = egress ? Direction::Ingress : Direction::Egress;
        if (r.action != Action::Allow || !outside_isolations(cx_.m, r.peer.endpoints, other)) {
          refuse(cx_, Code::E915, r.range, fmt::format("this {} {} half alone", action, to_string(r.dir)),
                 fmt::format("a rule between workloads yields both halves, and the {} half at {} would change what "
                             "it allows",
                             to_string(other), peer));
          return;
        }
      }
      from = egress ? subject : peer;
      to = egress ? peer : subject;
    } else {
      auto peer = peer_text(r);
      if (!peer) return;
      from = egress ? subject : *peer;
      to = egress ? *peer : subject;
    }
    files_.text(source_stem(cx_.sm, r.range)) += fmt::format("{} {} -> {}{};\n", action, from, to, ports_text(r.ports));
  }

  struct LastIsolation {
    std::string stem, ns;
    Direction dir;
    size_t begin, end;  // its text in the stem's file
  };
  std::optional<LastIsolation> last_iso_;
  ExportContext& cx_;
  std::optional<bool> labels_matter_;
  std::optional<SubjectIndex> isolations_;
  std::vector<bool> used_;
  FileSet files_;
};

} // namespace

std::vector<ExportedFile> export_moat(ExportContext& cx) { return MoatWriter(cx).run(); }

} // namespace moat::exporter
