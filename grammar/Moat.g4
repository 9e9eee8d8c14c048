// The moat policy language (docs/LANGUAGE.md). Connection-level rules: `allow A -> B`
// points from the initiator to the responder; the front end (frontend/moat/) lowers them
// into IR rule halves. The grammar is deliberately permissive about where a statement may
// appear (any statement inside any block) so that misplaced statements get a precise
// "not allowed here" diagnostic from the front end instead of a generic syntax error.
//
// Nothing here recurses except blocks inside blocks; the front end caps bracket depth on
// the token stream before parsing, so the generated recursive-descent parser cannot
// overflow the stack.
grammar Moat;

file : statement* EOF ;

statement
  : namespaceBlock
  | nodepoolBlock
  | defaultDeny
  | workloadDecl
  | peerDecl
  | connectionRule
  | labelStmt
  | requireStmt
  | taintStmt
  | limitsStmt
  | admitsStmt
  | proveStmt
  | expectStmt
  ;

// ---- blocks -------------------------------------------------------------------------
namespaceBlock : NAMESPACE nsName LBRACE statement* RBRACE ;
nodepoolBlock  : NODEPOOL word LBRACE statement* RBRACE ;

// ---- namespace statements -----------------------------------------------------------
defaultDeny  : DEFAULT DENY direction? SEMI ;
direction    : INGRESS | EGRESS ;
workloadDecl : WORKLOAD name EQUALS peerExpr SEMI ;
peerDecl     : PEER name EQUALS peerExpr SEMI ;
connectionRule : action=(ALLOW | DENY) from=peerList ARROW to=peerList portsClause? SEMI ;
// Inside a namespace: a namespace label; inside a nodepool: a node template label.
labelStmt    : LABEL labelKey EQUALS labelValue SEMI ;

// ---- nodepool statements ------------------------------------------------------------
requireStmt : REQUIRE selectorTerm SEMI ;
taintStmt   : kind=(TAINT | STARTUP_TAINT) taintSpec SEMI ;
taintSpec   : labelKey (EQUALS labelValue)? COLON word ;
limitsStmt  : LIMITS LBRACE (limitItem (COMMA limitItem)* COMMA?)? RBRACE SEMI? ;
limitItem   : labelKey COLON (word | STRING) ;
admitsStmt  : ADMITS peerList SEMI ;

// ---- proofs and expectations --------------------------------------------------------
proveStmt
  : PROVE ISOLATED peerList SEMI                                          # proveIsolated
  | PROVE subject=peerExpr REACHABLE FROM peerList portsClause? SEMI      # proveReachable
  | PROVE subject=peerExpr dir=(EGRESS | INGRESS) WITHIN
      LBRACE (withinItem (COMMA withinItem)* COMMA?)? RBRACE SEMI         # proveWithin
  | PROVE NODEPOOL word ADMITS peerList SEMI                              # provePoolAdmits
  ;
withinItem : peerExpr portsClause? ;

expectStmt : EXPECT from=endpointExpr ARROW to=endpointExpr ON portItem COLON verdict=(ALLOW | DENY) SEMI ;
endpointExpr : peerExpr | ipLiteral | STRING ;

// ---- peers --------------------------------------------------------------------------
peerList : peerExpr (COMMA peerExpr)* ;

peerExpr
  : STAR                                      # allWorkloadsPeer
  | selector                                  # localSelectorPeer
  | nsName SLASH selector                     # nsSelectorPeer
  | NAMESPACE selector (SLASH selector)?      # nsLabelsPeer
  | NAMESPACE nsName                          # wholeNamespacePeer
  | CIDR prefix (EXCEPT prefix (COMMA prefix)*)?  # cidrPeer
  | entity                                    # entityPeer
  | DNS                                       # dnsPeer
  | FQDN STRING                               # fqdnPeer
  | (nsName SLASH)? name                      # refPeer
  ;

entity : WORLD | CLUSTER | HOST | REMOTE_NODE | KUBE_APISERVER | ALL ;
prefix : ipLiteral (SLASH NUMBER)? ;
ipLiteral : IPV4 | IPV6 ;

// ---- selectors ----------------------------------------------------------------------
selector : LBRACE (selectorTerm (COMMA selectorTerm)* COMMA?)? RBRACE ;
selectorTerm
  : labelKey COLON labelValue                         # equalsTerm
  | labelKey op=(IN | NOTIN) LBRACK valueList? RBRACK  # setTerm
  | labelKey                                          # existsTerm
  | BANG labelKey                                     # notExistsTerm
  ;
valueList  : labelValue (COMMA labelValue)* COMMA? ;
labelKey   : STRING | word (SLASH word)? ;
labelValue : STRING | word | IPV4 ;

// ---- ports --------------------------------------------------------------------------
// A bare name after a comma is never a port (it would be ambiguous with a peer name in
// `within { fqdn "x" on tcp 443, training }`): named ports always follow a protocol.
portsClause : ON portItem (COMMA portItem)* ;
portItem
  : protocol portValue?     # knownProtocolPort
  | WORD portValue          # unknownProtocolPort
  | portRange               # bareRangePort
  ;
portValue : portRange | WORD ;
portRange : NUMBER (DOTDOT NUMBER)? ;
protocol  : TCP | UDP | SCTP | ICMP | ICMPV6 | ANY ;

// ---- names --------------------------------------------------------------------------
name   : WORD ;
nsName : word ;
// Keywords are ordinary words where only a word can appear (label keys and values,
// namespace names): `namespace default { ... }`, `{ tier: host }`.
word
  : WORD | NUMBER
  | NAMESPACE | DEFAULT | DENY | ALLOW | INGRESS | EGRESS | WORKLOAD | PEER | CIDR | EXCEPT
  | FQDN | DNS | ON | IN | NOTIN | NODEPOOL | REQUIRE | TAINT | STARTUP_TAINT | LABEL | LIMITS
  | ADMITS | PROVE | ISOLATED | REACHABLE | FROM | WITHIN | EXPECT
  | WORLD | CLUSTER | HOST | REMOTE_NODE | KUBE_APISERVER | ALL
  | TCP | UDP | SCTP | ICMP | ICMPV6 | ANY
  ;

// ---- lexer --------------------------------------------------------------------------
NAMESPACE      : 'namespace' ;
DEFAULT        : 'default' ;
DENY           : 'deny' ;
ALLOW          : 'allow' ;
INGRESS        : 'ingress' ;
EGRESS         : 'egress' ;
WORKLOAD       : 'workload' ;
PEER           : 'peer' ;
CIDR           : 'cidr' ;
EXCEPT         : 'except' ;
FQDN           : 'fqdn' ;
DNS            : 'dns' ;
ON             : 'on' ;
IN             : 'in' ;
NOTIN          : 'notin' ;
NODEPOOL       : 'nodepool' ;
REQUIRE        : 'require' ;
TAINT          : 'taint' ;
STARTUP_TAINT  : 'startup-taint' ;
LABEL          : 'label' ;
LIMITS         : 'limits' ;
ADMITS         : 'admits' ;
PROVE          : 'prove' ;
ISOLATED       : 'isolated' ;
REACHABLE      : 'reachable' ;
FROM           : 'from' ;
WITHIN         : 'within' ;
EXPECT         : 'expect' ;
WORLD          : 'world' ;
CLUSTER        : 'cluster' ;
HOST           : 'host' ;
REMOTE_NODE    : 'remote-node' ;
KUBE_APISERVER : 'kube-apiserver' ;
ALL            : 'all' ;
// Protocols are case-insensitive, as in Kubernetes manifests (TCP) and Cilium (ANY).
TCP            : [tT] [cC] [pP] ;
UDP            : [uU] [dD] [pP] ;
SCTP           : [sS] [cC] [tT] [pP] ;
ICMP           : [iI] [cC] [mM] [pP] ;
ICMPV6         : [iI] [cC] [mM] [pP] [vV] '6' ;
ANY            : [aA] [nN] [yY] ;

ARROW  : '->' ;
DOTDOT : '..' ;
LBRACE : '{' ;
RBRACE : '}' ;
LBRACK : '[' ;
RBRACK : ']' ;
COMMA  : ',' ;
SEMI   : ';' ;
COLON  : ':' ;
EQUALS : '=' ;
SLASH  : '/' ;
STAR   : '*' ;
BANG   : '!' ;

// Order matters where lengths tie: 10.0.0.0 is an IPV4, 80 a NUMBER, not WORDs.
IPV4   : DEC '.' DEC '.' DEC '.' DEC ;
// Loose on purpose (needs two colons, so `k:v` is never an address); the front end
// checks the address with inet_pton and reports E309.
IPV6   : HEX? ':' HEX? ':' (HEX? ':')* (HEX | DEC '.' DEC '.' DEC '.' DEC)? ;
NUMBER : [0-9]+ ;
// Dot-separated segments that start and end with a letter, digit or '_' — never with
// '-', so `a->b` lexes as a, ->, b; never with '.', so `80..90` is a range.
WORD   : SEG ('.' SEG)* ;
STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;

LINE_COMMENT  : '//' ~[\r\n]* -> channel(HIDDEN) ;
BLOCK_COMMENT : '/*' .*? ('*/' | EOF) -> channel(HIDDEN) ;
WS : [ \t\r\n\f]+ -> skip ;
// Anything else becomes a token the parser rejects with a located syntax error, so the
// lexer itself never fails.
ERROR_CHAR : . ;

fragment DEC : [0-9]+ ;
fragment HEX : [0-9a-fA-F]+ ;
fragment SEG : [A-Za-z0-9_] ([A-Za-z0-9_-]* [A-Za-z0-9_])? ;
