// Hand-written C reference for the datapath benchmark (bench only: compiled by
// bench/datapath/run.sh with clang-19 -O2 -g -target bpf, never by the build). It performs
// the same work as moat's generated program for the benchmark's packets, with the same
// maps (names, key and value layouts of backend/bundle/datapath_abi.h), so that the loader
// fills both the same way: parse Ethernet + IPv4/IPv6 (+ extension headers, fragments) +
// L4 ports, IPv6 neighbour discovery (passes before any lookup), local endpoint, the egress source check (spoofed sources drop) and self traffic
// (the remote address is one of the endpoint's own), conntrack keyed by the local endpoint
// (flow, then reverse), ipcache, policy
// (local, remote) then (local, ANY), isolation fallback, per-rule counters, drop events,
// conntrack record on allow, and the policy-epoch check on conntrack hits (an entry of an
// older epoch is judged again: refreshed, or deleted and dropped as revoked).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct endpoint_key { __u32 kind, pad; __u64 id; };
struct endpoint_value {
  __u32 identity, flags, isolation[2];
  __u64 conntrack_id;
  __u8 addr_count, addr_family[4], pad[3];
  __u32 addrs[4][4];
};
struct ipcache_key { __u32 prefixlen; __u32 family; __u8 addr[16]; };
struct policy_key { __u32 prefixlen, local, remote; __u8 dir, proto; __u16 port; };
struct policy_value { __u32 rule; __u8 action, pad[3]; };
struct flow_tuple { __u32 saddr[4], daddr[4]; __u16 sport, dport; __u8 proto, family, dir, pad; __u64 local; };
struct ct_value { __u32 rule, epoch; };
struct frag_key { __u32 saddr[4], daddr[4]; __u32 id; __u8 proto, family, pad[2]; };
struct frag_value { __u16 sport, dport; __u32 pad; };
struct counter { __u64 packets, bytes; };
struct drop_event {
  __u64 ts; __u32 rule, local, remote, isolation; __u8 dir, family, proto, reason; __u16 sport, dport;
  __u32 saddr[4], daddr[4];
};

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(key_size, sizeof(struct ipcache_key)); __uint(value_size, 4);
         __uint(max_entries, 1 << 19); __uint(map_flags, BPF_F_NO_PREALLOC); } moat_hosts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(key_size, sizeof(struct ipcache_key)); __uint(value_size, 4);
         __uint(max_entries, 1 << 19); __uint(map_flags, BPF_F_NO_PREALLOC); } moat_ipcache SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(key_size, sizeof(struct endpoint_key));
         __uint(value_size, sizeof(struct endpoint_value)); __uint(max_entries, 1 << 14); } moat_endpoints SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(key_size, sizeof(struct policy_key));
         __uint(value_size, sizeof(struct policy_value)); __uint(max_entries, 1 << 21);
         __uint(map_flags, BPF_F_NO_PREALLOC); } moat_policy_exact SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(key_size, sizeof(struct policy_key));
         __uint(value_size, sizeof(struct policy_value)); __uint(max_entries, 1 << 21);
         __uint(map_flags, BPF_F_NO_PREALLOC); } moat_policy SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(key_size, sizeof(struct flow_tuple));
         __uint(value_size, sizeof(struct ct_value)); __uint(max_entries, 1 << 16); } moat_ct SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(key_size, sizeof(struct frag_key));
         __uint(value_size, sizeof(struct frag_value)); __uint(max_entries, 1 << 13); } moat_frags SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(key_size, 4); __uint(value_size, sizeof(struct counter));
         __uint(max_entries, RULE_SLOTS); } moat_counters SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 256 * 1024); } moat_events SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// The policy epoch, a .bss global as in moat's object (the loader sets it).
volatile __u32 moat_epoch;

#define SPECIAL 0xFFFFFF00u
enum { DEFAULT_DENY, DEFAULT_ALLOW, IMPLICIT, ESTABLISHED, UNKNOWN_LOCAL, MALFORMED, FRAGMENT, NON_IP, SPOOFED };
#define REASON_SPOOFED 2
#ifndef RULE_COUNT
#define RULE_COUNT 0
#endif
// The lookups the benchmark's policy needs (what moat's plan emits for it); a hand-written
// program for that policy would leave the others out too.
#ifndef IPCACHE_PREFIXES
#define IPCACHE_PREFIXES 1
#endif
#ifndef ANY_LOOKUP
#define ANY_LOOKUP 1
#endif

/// Is `a` (family `family`) one of the endpoint's own addresses? Used slots in order.
static __always_inline int own_addr(struct endpoint_value *ep, __u8 family, __u32 *a) {
#pragma unroll
  for (int i = 0; i < 4; i++) {
    if (i >= ep->addr_count) return 0;
    if (ep->addr_family[i] == family && ep->addrs[i][0] == a[0] && ep->addrs[i][1] == a[1] &&
        ep->addrs[i][2] == a[2] && ep->addrs[i][3] == a[3])
      return 1;
  }
  return 0;
}

static __always_inline struct policy_value *policy_level(struct policy_key *pk) {
  struct policy_value *v = bpf_map_lookup_elem(&moat_policy_exact, pk);
  if (!v) v = bpf_map_lookup_elem(&moat_policy, pk);
  return v;
}

static __always_inline int finish_reason(struct __sk_buff *skb, struct flow_tuple *t, __u32 rule, int pass,
                                         __u32 local, __u32 remote, __u32 iso, __u8 reason) {
  __u32 slot = rule >= SPECIAL ? rule - SPECIAL + RULE_COUNT : rule;
  struct counter *c = bpf_map_lookup_elem(&moat_counters, &slot);
  if (c) {
    c->packets++;
    c->bytes += skb->len;
  }
  if (pass) return 1;
  struct drop_event ev = {.ts = bpf_ktime_get_ns(), .rule = rule, .local = local, .remote = remote,
                          .isolation = iso, .dir = t->dir, .family = t->family, .proto = t->proto,
                          .reason = reason, .sport = bpf_ntohs(t->sport), .dport = bpf_ntohs(t->dport)};
  __builtin_memcpy(ev.saddr, t->saddr, 16);
  __builtin_memcpy(ev.daddr, t->daddr, 16);
  bpf_ringbuf_output(&moat_events, &ev, sizeof(ev), 0);
  return 0;
}

static __always_inline int finish(struct __sk_buff *skb, struct flow_tuple *t, __u32 rule, int pass, __u32 local,
                                  __u32 remote, __u32 iso) {
  return finish_reason(skb, t, rule, pass, local, remote, iso, 0);
}

/// The verdict for flow `k` in direction `egress` at endpoint `ep`: ipcache, host check,
/// policy lookups, isolation fallback. Returns 1 allow, 0 deny; sets rule, remote, iso.
static __always_inline int judge(struct endpoint_value *ep, __u32 local, struct flow_tuple *k, int egress,
                                 __u32 *rule, __u32 *remote, __u32 *iso) {
  struct ipcache_key ik = {.prefixlen = 32 + (k->family == 4 ? 32 : 128), .family = k->family};
  __builtin_memcpy(ik.addr, egress ? k->daddr : k->saddr, 16);
  __u32 *id = bpf_map_lookup_elem(&moat_hosts, &ik);
#if IPCACHE_PREFIXES
  if (!id) id = bpf_map_lookup_elem(&moat_ipcache, &ik);
#endif
  *remote = id ? *id : 2;
  *iso = 0;
  if (!egress && *remote == 1) {
    *rule = SPECIAL + IMPLICIT;
    return 1;
  }
  struct policy_key pk = {.prefixlen = 96, .local = local, .remote = *remote, .dir = egress, .proto = k->proto,
                          .port = k->dport};
  struct policy_value *v = policy_level(&pk);
#if ANY_LOOKUP
  if (!v) {
    pk.remote = 0;
    v = policy_level(&pk);
  }
#endif
  if (v) {
    *rule = v->rule;
    return v->action == 1;
  }
  if (ep->flags & (egress ? 2 : 1)) {
    *rule = SPECIAL + DEFAULT_DENY;
    *iso = ep->isolation[egress];
    return 0;
  }
  *rule = SPECIAL + DEFAULT_ALLOW;
  return 1;
}

/// A conntrack entry of another epoch: a newer one passes, an older one is judged again
/// (key = the connection's first packet here, in direction `judged_egress`).
static __always_inline int revalidate(struct __sk_buff *skb, struct endpoint_value *ep, __u32 local,
                                      struct ct_value *cv, struct flow_tuple *t, struct flow_tuple *key,
                                      int judged_egress) {
  __u32 epoch = moat_epoch;
  if ((__s32)(cv->epoch - epoch) > 0) return finish(skb, t, SPECIAL + ESTABLISHED, 1, local, 0, 0);
  __u32 rule, remote, iso;
  if (judge(ep, local, key, judged_egress, &rule, &remote, &iso)) {
    cv->rule = rule;
    cv->epoch = epoch;
    return finish(skb, t, SPECIAL + ESTABLISHED, 1, local, remote, 0);
  }
  bpf_map_delete_elem(&moat_ct, key);
  return finish_reason(skb, t, rule, 0, local, remote, iso, 1);
}

static __always_inline int policy(struct __sk_buff *skb, int egress) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct flow_tuple t = {};
  __u8 tcp_flags = 0, first = 0, reply = 0, hop_limit = 0;
  __u32 frag_id = 0;
  t.dir = egress;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
  void *l4;
  __u8 proto;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
    l4 = (void *)ip + ip->ihl * 4;
    proto = ip->protocol;
    t.saddr[0] = ip->saddr;
    t.daddr[0] = ip->daddr;
    t.family = 4;
    t.proto = proto;
    frag_id = ip->id;
    __u16 fo = bpf_ntohs(ip->frag_off);
    if (fo & 0x1FFF) goto later;
    first = (fo & 0x2000) != 0;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > end || ip6->version != 6) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
    __builtin_memcpy(t.saddr, &ip6->saddr, 16);
    __builtin_memcpy(t.daddr, &ip6->daddr, 16);
    t.family = 6;
    hop_limit = ip6->hop_limit;
    l4 = ip6 + 1;
    proto = ip6->nexthdr;
#pragma unroll
    for (int i = 0; i < 6; i++) {
      __u8 *h = l4;
      if (proto == 0 || proto == 43 || proto == 60 || proto == 51) {
        if ((void *)(h + 2) > end) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
        __u32 len = proto == 51 ? (h[1] + 2) * 4 : (h[1] + 1) * 8;
        proto = h[0];
        l4 += len;
      } else if (proto == 44) {
        if ((void *)(h + 8) > end) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
        __u16 fo = bpf_ntohs(*(__u16 *)(h + 2));
        t.proto = proto = h[0];
        frag_id = *(__u32 *)(h + 4);
        l4 += 8;
        if (fo & 0xFFF8) goto later;
        first = fo & 1;
      } else {
        goto upper;
      }
    }
    return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
  } else {
    return finish(skb, &t, SPECIAL + NON_IP, 1, 0, 0, 0);
  }
upper:
  t.proto = proto;
  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) {
    __u32 need = proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP ? 8 : 12;
    if (l4 + need > end) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
    t.sport = ((__u16 *)l4)[0];
    t.dport = ((__u16 *)l4)[1];
    if (proto == IPPROTO_TCP) tcp_flags = ((__u8 *)l4)[13];
  } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    if (l4 + 8 > end) return finish(skb, &t, SPECIAL + MALFORMED, 0, 0, 0, 0);
    __u8 type = ((__u8 *)l4)[0];
    t.dport = (__u16)type << 8;
    int v4 = proto == IPPROTO_ICMP;
    int req = v4 ? type == 8 : type == 128;
    reply = v4 ? type == 0 : type == 129;
    if (req || reply) t.sport = ((__u16 *)l4)[2];
  }
  if (first) {
    struct frag_key fk = {.id = frag_id, .proto = t.proto, .family = t.family};
    __builtin_memcpy(fk.saddr, t.saddr, 32);
    struct frag_value fv = {.sport = t.sport, .dport = t.dport};
    bpf_map_update_elem(&moat_frags, &fk, &fv, BPF_ANY);
  }
  goto decide;
later: {
    struct frag_key fk = {.id = frag_id, .proto = t.proto, .family = t.family};
    __builtin_memcpy(fk.saddr, t.saddr, 32);
    struct frag_value *fv = bpf_map_lookup_elem(&moat_frags, &fk);
    if (!fv) return finish(skb, &t, SPECIAL + FRAGMENT, 0, 0, 0, 0);
    t.sport = fv->sport;
    t.dport = fv->dport;
  }
decide: {
    // IPv6 neighbour discovery (ICMPv6 133-137, hop limit 255) passes before any lookup.
    if (t.proto == IPPROTO_ICMPV6 && t.family == 6 && (__u8)((t.dport >> 8) - 133) <= 4 && hop_limit == 255)
      return finish(skb, &t, SPECIAL + IMPLICIT, 1, 0, 0, 0);
    struct endpoint_key ek = {.kind = 1, .id = skb->ifindex};
    struct endpoint_value *ep = bpf_map_lookup_elem(&moat_endpoints, &ek);
    if (!ep) return finish(skb, &t, SPECIAL + UNKNOWN_LOCAL, 0, 0, 0, 0);
    __u32 local = ep->identity;
    t.local = ep->conntrack_id;
    if (egress) {
      if (!own_addr(ep, t.family, t.saddr)) {
        // IPv6 link-local sources are the pod's own link: judged by policy, never self.
        if (!(t.family == 6 && (t.saddr[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000)))
          return finish_reason(skb, &t, SPECIAL + SPOOFED, 0, local, 0, 0, REASON_SPOOFED);
      } else if (own_addr(ep, t.family, t.daddr)) {
        return finish(skb, &t, SPECIAL + IMPLICIT, 1, local, 0, 0);
      }
    } else if (own_addr(ep, t.family, t.saddr)) {
      return finish(skb, &t, SPECIAL + IMPLICIT, 1, local, 0, 0);
    }
    struct ct_value *cv = bpf_map_lookup_elem(&moat_ct, &t);
    if (cv) {
      if (cv->epoch == moat_epoch) return finish(skb, &t, SPECIAL + ESTABLISHED, 1, local, 0, 0);
      return revalidate(skb, ep, local, cv, &t, &t, egress);
    }
    struct flow_tuple r = {.proto = t.proto, .family = t.family, .dir = !egress, .local = t.local};
    __builtin_memcpy(r.saddr, t.daddr, 16);
    __builtin_memcpy(r.daddr, t.saddr, 16);
    r.sport = reply ? t.sport : t.dport;
    r.dport = reply ? (__u16)((t.family == 4 ? 8 : 128) << 8) : t.sport;
    cv = bpf_map_lookup_elem(&moat_ct, &r);
    if (cv) {
      if (cv->epoch == moat_epoch) return finish(skb, &t, SPECIAL + ESTABLISHED, 1, local, 0, 0);
      return revalidate(skb, ep, local, cv, &t, &r, !egress);
    }
    __u32 rule, remote, iso;
    int allow = judge(ep, local, &t, egress, &rule, &remote, &iso);
    if (!allow) return finish(skb, &t, rule, 0, local, remote, iso);
    if (t.proto != IPPROTO_TCP || (tcp_flags & 0x12) == 0x02) {
      struct ct_value rec = {.rule = rule, .epoch = moat_epoch};
      bpf_map_update_elem(&moat_ct, &t, &rec, BPF_ANY);
    }
    return finish(skb, &t, rule, 1, local, remote, 0);
  }
}

SEC("tc") int moat_tc_ingress(struct __sk_buff *skb) { return policy(skb, 0) ? TC_ACT_OK : TC_ACT_SHOT; }
SEC("tc") int moat_tc_egress(struct __sk_buff *skb) { return policy(skb, 1) ? TC_ACT_OK : TC_ACT_SHOT; }
