// yaml-cpp emitter helpers (see yaml_emit.h).
#include "export/yaml_emit.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace moat::exporter {

namespace {

/// A plain scalar that every YAML 1.1/1.2 reader keeps a string: starts with a letter, then
/// letters, digits and `-._/`, and is none of the words YAML 1.1 reads as booleans or null.
bool plain_safe(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' && c != '/') return false;
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> special = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"};
  return special.count(l) == 0;
}

} // namespace

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (plain_safe(s)) out << s;
  else out << YAML::DoubleQuoted << s;
}

void emit_prefix(YAML::Emitter& out, const IpPrefix& p) {
  std::string text = p.str();
  if (text[0] == ':') out << YAML::DoubleQuoted;
  out << text;
}

void emit_label_selector(YAML::Emitter& out, const std::vector<LabelRequirement>& reqs,
                         const std::function<std::string(const std::string&)>& key_of) {
  using Op = LabelRequirement::Op;
  std::vector<const LabelRequirement*> labels, exprs;
  std::set<std::string> keys;
  for (const LabelRequirement& r : reqs) {
    if (r.op == Op::In && r.values.size() == 1 && keys.insert(r.key).second) labels.push_back(&r);
    else exprs.push_back(&r);
  }
  if (reqs.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;  // `{}`: selects everything
    return;
  }
  out << YAML::BeginMap;
  if (!labels.empty()) {
    out << YAML::Key << "matchLabels" << YAML::Value << YAML::BeginMap;
    for (const LabelRequirement* r : labels) {
      out << YAML::Key;
      emit_string(out, key_of(r->key));
      out << YAML::Value;
      emit_string(out, r->values[0]);
    }
    out << YAML::EndMap;
  }
  if (!exprs.empty()) {
    static const char* ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
    out << YAML::Key << "matchExpressions" << YAML::Value << YAML::BeginSeq;
    for (const LabelRequirement* r : exprs) {
      out << YAML::BeginMap << YAML::Key << "key" << YAML::Value;
      emit_string(out, key_of(r->key));
      out << YAML::Key << "operator" << YAML::Value << ops[static_cast<int>(r->op)];
      if (r->op == Op::In || r->op == Op::NotIn) {
        out << YAML::Key << "values" << YAML::Value << YAML::BeginSeq;
        for (const std::string& v : r->values) emit_string(out, v);
        out << YAML::EndSeq;
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

std::string close_document(YAML::Emitter& out) {
  out << YAML::EndMap << YAML::EndMap;
  return std::string("---\n") + out.c_str() + "\n";
}

std::string namespace_documents(const Module& m) {
  std::string text;
  for (const auto& [name, labels] : m.namespaces) {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "v1";
    out << YAML::Key << "kind" << YAML::Value << "Namespace";
    out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    emit_string(out, name);
    bool any = std::any_of(labels.begin(), labels.end(), [](const auto& kv) { return kv.first != kNamespaceNameLabel; });
    if (any) {
      out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : labels) {
        if (k == kNamespaceNameLabel) continue;
        out << YAML::Key;
        emit_string(out, k);
        out << YAML::Value;
        emit_string(out, v);
      }
      out << YAML::EndMap;
    }
    text += close_document(out);
  }
  return text;
}

} // namespace moat::exporter
