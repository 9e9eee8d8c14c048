// Every mistake gets its code and its exact place (file:line:col and the end of the range).
#include <catch2/catch.hpp>

#include "tests/moat_lang/moat_lang_helpers.h"

using namespace moat;
using moat::test::diag_lines;
using moat::test::first_diag;
using moat::test::parse;

TEST_CASE("syntax error: location, offending token, what was expected") {
  auto p = parse("namespace a {\n  allow x -> y on tcp 80\n}\n");
  CHECK(diag_lines(*p) == "t.moat:2:25-2:26 E101 expected ';' at the end of the statement\n");
  auto q = parse("namespace a {\n  allow x -> y on tcp 80 }\n");
  CHECK(diag_lines(*q) == "t.moat:2:26-2:27 E101 unexpected '}'; expected ';'\n");
  CHECK(p->module.rules.empty());  // nothing is lowered from a file with syntax errors
}

TEST_CASE("syntax errors: unknown character, unterminated string and comment, missing statement") {
  CHECK(first_diag(*parse("namespace a { allow x -> y on tcp 80 # oops\n}")) == "1:38 E101");
  CHECK(diag_lines(*parse("namespace a {\n  peer x = fqdn \"abc;\n}")) ==
        "t.moat:2:17-2:22 E101 unexpected unterminated string (strings end on their line)\n");
  CHECK(diag_lines(*parse("namespace a { }\n/* never closed\nallow")) ==
        "t.moat:2:1-2:3 E101 unterminated comment: '/*' without a matching '*/'\n");
  auto p = parse("namespace a { workload = { app: x }; }");
  CHECK(diag_lines(*p) == "t.moat:1:24-1:25 E101 unexpected '='; expected a name\n");
  CHECK(first_diag(*parse("on tcp 80;")) == "1:1 E101");
  CHECK(first_diag(*parse("namespace a {")) == "1:14 E101");
}

TEST_CASE("unknown protocol and misspelled keywords") {
  CHECK(diag_lines(*parse("namespace a { workload x = {}; allow x -> x on tpc 80; }")) ==
        "t.moat:1:48-1:51 E305 unknown protocol 'tpc'; expected tcp, udp, sctp, icmp, icmpv6 or any\n");
  CHECK(diag_lines(*parse("namespace a { workload x = {}; allow x -> x on 80; }")) ==
        "t.moat:1:48-1:50 E305 port 80 needs a protocol: write 'tcp 80' (or udp, sctp, any)\n");
}

TEST_CASE("unknown name: caret on the reference, with a hint") {
  auto p = parse("namespace a {\n  workload training = {};\n  allow trainig -> training;\n}\n");
  CHECK(diag_lines(*p) == "t.moat:3:9-3:16 E102 unknown name 'trainig'\n  note 0:0: did you mean 'training'?\n");
  auto q = parse("namespace a { workload w = {}; }\nnamespace b { allow w -> world; }\n");
  CHECK(diag_lines(*q) ==
        "t.moat:2:21-2:22 E102 unknown name 'w'\n  note 0:0: 'w' is declared elsewhere; did you mean 'a/w'?\n");
  auto r = parse("namespace a { allow zz/w -> world; }");
  CHECK(first_diag(*r) == "1:21 E102");
  auto cycle = parse("namespace a { workload x = y; workload y = x; }");
  CHECK(first_diag(*cycle) == "1:44 E102");
}

TEST_CASE("duplicate declarations point at both") {
  auto p = parse("namespace a {\n  workload w = {};\n  peer w = world;\n}\n");
  CHECK(diag_lines(*p) == "t.moat:3:8-3:9 E103 'a/w' is already declared in namespace a\n  note 2:3: first declared here\n");
  CHECK(first_diag(*parse("nodepool gpu {}\nnodepool gpu {}")) == "2:10 E103");
  CHECK(first_diag(*parse("namespace a { label t = x; }\nnamespace a { label t = y; }")) == "2:15 E103");
}

TEST_CASE("bad CIDRs, addresses and except lists") {
  CHECK(diag_lines(*parse("namespace a { peer p = cidr 10.0.0.0/33; }")) ==
        "t.moat:1:29-1:40 E304 '10.0.0.0/33' has an invalid prefix length (IPv4: 0-32, IPv6: 0-128)\n");
  CHECK(first_diag(*parse("namespace a { peer p = cidr 300.0.0.0/8; }")) == "1:29 E309");
  CHECK(first_diag(*parse("namespace a { peer p = cidr fd00:::1/64; }")) == "1:29 E309");
  CHECK(diag_lines(*parse("namespace a {\n  peer p = cidr 10.0.0.0/16 except 10.1.0.0/24;\n}")) ==
        "t.moat:2:36-2:47 E301 except 10.1.0.0/24 is not inside 10.0.0.0/16\n");
  CHECK(first_diag(*parse("namespace a { peer p = cidr 10.0.0.0/8 except fd00::/8; }")) == "1:47 E301");
}

TEST_CASE("ports: range ends before it starts, port 0, port 70000, ICMP type 300") {
  std::string pre = "namespace a { workload x = {}; allow x -> x on ";
  CHECK(diag_lines(*parse(pre + "tcp 90..80; }")) == "t.moat:1:52-1:58 E302 endPort 80 is smaller than port 90\n");
  CHECK(diag_lines(*parse(pre + "tcp 0; }")) == "t.moat:1:52-1:53 E303 port 0 is outside 1-65535\n");
  CHECK(diag_lines(*parse(pre + "udp 70000; }")) == "t.moat:1:52-1:57 E303 port 70000 is outside 1-65535\n");
  CHECK(first_diag(*parse(pre + "tcp 99999999999999999999999; }")) == "1:52 E303");
  CHECK(first_diag(*parse(pre + "icmp 300; }")) == "1:53 E303");
  CHECK(first_diag(*parse(pre + "icmp echo; }")) == "1:53 E303");
}

TEST_CASE("bad FQDNs and label keys and values") {
  CHECK(diag_lines(*parse("namespace a { peer p = fqdn \"bad name.com\"; }")) ==
        "t.moat:1:29-1:43 E308 matchName 'bad name.com' contains invalid character ' ' at position 4\n");
  CHECK(first_diag(*parse("namespace a { peer p = fqdn \"a..b\"; }")) == "1:29 E308");
  CHECK(first_diag(*parse("namespace a { peer p = fqdn \"x$.com\"; }")) == "1:29 E308");
  CHECK(first_diag(*parse("namespace a { workload w = { \"bad key!\": x }; }")) == "1:30 E306");
  CHECK(first_diag(*parse("namespace a { workload w = { Example.COM/x: y }; }")) == "1:30 E306");
  CHECK(first_diag(*parse("namespace a { workload w = { k: \"-x\" }; }")) == "1:33 E306");
  CHECK(first_diag(*parse("namespace Bad_Name { }")) == "1:11 E306");
  CHECK(first_diag(*parse("namespace a { workload w = { k in [] }; }")) == "1:30 E310");
}

TEST_CASE("misplaced statements and peers in the wrong position") {
  CHECK(diag_lines(*parse("namespace a { taint k=v:NoSchedule; }")) ==
        "t.moat:1:15-1:20 E105 'taint' is not allowed here; it belongs inside a nodepool block\n");
  CHECK(first_diag(*parse("namespace a { namespace b { } }")) == "1:15 E105");
  CHECK(first_diag(*parse("nodepool p { allow * -> world; }")) == "1:14 E105");
  CHECK(first_diag(*parse("label a = b;")) == "1:1 E105");
  CHECK(first_diag(*parse("namespace a { allow fqdn \"x.com\" -> *; }")) == "1:21 E106");
  CHECK(first_diag(*parse("namespace a { allow dns -> *; }")) == "1:21 E106");
  CHECK(first_diag(*parse("namespace a { allow world -> cidr 10.0.0.0/8; }")) == "1:15 E106");
  CHECK(first_diag(*parse("namespace a { workload w = cidr 10.0.0.0/8; }")) == "1:28 E106");
  CHECK(first_diag(*parse("namespace a { workload w = {}; allow w -> dns on tcp 443; }")) == "1:50 E107");
  CHECK(first_diag(*parse("nodepool p { taint k=v:Sometimes; }")) == "1:24 E108");
  CHECK(first_diag(*parse("expect a/b -> 1.2.3.4 on tcp 80: allow;")) == "1:8 E102");
  CHECK(first_diag(*parse("namespace a { workload w = {}; }\nexpect a/w -> world on tcp 80: allow;")) == "2:15 E106");
  CHECK(first_diag(*parse("namespace a { workload w = {}; }\nexpect a/w -> 1.2.3.4 on any 80: allow;")) == "2:26 E305");
  CHECK(first_diag(*parse("namespace a { workload w = {}; }\nexpect a/w -> 1.2.3.4 on tcp 1..2: allow;")) ==
        "2:26 E303");
  CHECK(first_diag(*parse("namespace a { workload w = { k, !k }; }\nexpect a/w -> 1.2.3.4 on tcp 1: allow;")) ==
        "2:8 E106");
  CHECK(first_diag(*parse("prove isolated namespace a;")) == "1:16 E106");
}
