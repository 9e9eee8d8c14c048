// Checks shared by every front end, so the moat language and the YAML kinds reject the
// same mistakes with the same codes (as the Kubernetes API server and Cilium would).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

/// Kubernetes qualified name: optional DNS-subdomain prefix + '/', name <= 63 chars of
/// [A-Za-z0-9._-] starting and ending alphanumeric. Returns why not, or nullopt if valid.
std::optional<std::string> check_label_key(std::string_view key);
/// Label value: empty, or <= 63 chars of [A-Za-z0-9._-] starting and ending alphanumeric.
std::optional<std::string> check_label_value(std::string_view value);
/// FQDN name (matchName) or pattern (matchPattern: also '*'): letters, digits, '-', '_', '.'.
std::optional<std::string> check_fqdn(std::string_view text, bool pattern);
/// DNS-1123 as the API server checks object names: a label is 1-63 of [a-z0-9-] starting
/// and ending alphanumeric; a subdomain (`subdomain`) is dot-separated labels, <= 253 in
/// all. Returns why not (a phrase to follow the name), or nullopt if valid.
std::optional<std::string> check_dns1123(std::string_view s, bool subdomain);
/// W313 when the address of `text` ("10.0.0.1/24") has bits set past the prefix length of
/// `p`, its parsed (masked) form: accepted, as the API server does, but not silently.
void warn_host_bits(std::string_view text, const IpPrefix& p, SourceRange at, Diagnostics& diags);
/// Lower-cases and strips one trailing dot.
std::string normalize_fqdn(std::string_view text);

/// Validates a CIDR peer's except list (E301) and reports at `range`.
bool validate_cidr_except(const Peer& p, Diagnostics& diags);
/// Validates a port range: 1..65535 (E303), hi >= lo (E302). ICMP types 0..255.
bool validate_port(const PortMatch& pm, Diagnostics& diags);

} // namespace moat
