//! The rules of public voting, free of I/O: caps as slots, network prefixes, the
//! automatic fraud rules over a vote log, the deterministic tally and its hash, and the
//! per-voter order of the gallery.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// A vote's status: counted, held back for review, or struck out.
pub const COUNTED: &str = "counted";
pub const QUARANTINED: &str = "quarantined";
pub const INVALIDATED: &str = "invalidated";

/// What a review does to a vote.
pub const QUARANTINE: &str = "quarantine";
pub const INVALIDATE: &str = "invalidate";
pub const RESTORE: &str = "restore";

/// Automatic rules (and `manual` for an organiser's own decision).
pub const RULE_NEW_ACCOUNT: &str = "new_account";
pub const RULE_DISPOSABLE: &str = "disposable_domain";
pub const RULE_LOOKALIKE: &str = "lookalike_domain";
pub const RULE_BURST: &str = "prefix_burst";
pub const RULE_PATTERN: &str = "identical_pattern";
pub const RULE_MANUAL: &str = "manual";
pub const RULES: [&str; 6] = [
    RULE_NEW_ACCOUNT,
    RULE_DISPOSABLE,
    RULE_LOOKALIKE,
    RULE_BURST,
    RULE_PATTERN,
    RULE_MANUAL,
];

/// How a round treats votes from accounts younger than its new-account threshold:
/// held for review, counted, or counted when cast from the venue's network (the
/// allowlist) and held elsewhere. At an exhibition every walk-up visitor's account is
/// minutes old, so `venue` is the default.
pub const NEW_HOLD: &str = "hold";
pub const NEW_COUNT: &str = "count";
pub const NEW_VENUE: &str = "venue";
pub const NEW_ACCOUNT_POLICIES: [&str; 3] = [NEW_VENUE, NEW_HOLD, NEW_COUNT];

/// When running counts are shown.
pub const VISIBLE_LIVE: &str = "live";
pub const VISIBLE_AFTER_CLOSE: &str = "after_close";

/// The status a review action leads to.
pub fn status_after(action: &str) -> Option<&'static str> {
    match action {
        QUARANTINE => Some(QUARANTINED),
        INVALIDATE => Some(INVALIDATED),
        RESTORE => Some(COUNTED),
        _ => None,
    }
}

/// The network a vote came from: the /24 of an IPv4 address, the /48 of an IPv6 one.
pub fn network_of(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }) {
        Some(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => "unknown".into(),
    }
}

/// A short hash of the user-agent: enough to group identical clients, not to read them.
pub fn ua_hash(ua: &str) -> String {
    hex::encode(&Sha256::digest(ua.as_bytes())[..8])
}

/// Big mail providers whose near-misses (`gmai1.com`, `gmial.com`, `outl00k.com`) are
/// a classic way to mint throwaway addresses that look real.
const PROVIDERS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.net",
    "mail.com",
    "gmx.de",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "foxmail.com",
];

/// Undo the usual visual substitutions (`0`→`o`, `1`→`l`, `rn`→`m`, `vv`→`w`).
fn deconfuse(s: &str) -> String {
    s.replace("rn", "m")
        .replace("vv", "w")
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' => 'l',
            '3' => 'e',
            '5' => 's',
            _ => c,
        })
        .collect()
}

/// Whether `domain` imitates a big provider without being it.
pub fn is_lookalike(domain: &str) -> bool {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if PROVIDERS.contains(&d.as_str()) {
        return false;
    }
    let dd = deconfuse(&d);
    PROVIDERS
        .iter()
        .any(|p| dd == deconfuse(p) || (p.len() >= 9 && strsim::osa_distance(&d, p) == 1))
}

/// The caps of a round: votes per voter, per entry and per day (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_voter: u32,
    pub per_entry: u32,
    pub per_day: Option<u32>,
}

/// Which cap a vote would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapHit {
    Round,
    Entry,
    Day,
}

/// How many votes one voter already has in a round: in all, per entry, per day.
#[derive(Debug, Clone, Default)]
pub struct Used {
    pub total: u32,
    pub by_entry: HashMap<String, u32>,
    pub by_day: HashMap<String, u32>,
}

/// The slots a new vote takes: its number in the round, for its entry and for its day.
/// The database holds each (voter, slot) once, so two racing votes cannot both take the
/// last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    pub slot: i32,
    pub entry_slot: i32,
    pub day_slot: i32,
}

/// Take the next slots for a vote for `entry` on `day`, or say which cap is reached.
pub fn take_slots(caps: Caps, used: &mut Used, entry: &str, day: &str) -> Result<Slots, CapHit> {
    let e = used.by_entry.get(entry).copied().unwrap_or(0);
    let d = used.by_day.get(day).copied().unwrap_or(0);
    if used.total >= caps.per_voter {
        return Err(CapHit::Round);
    }
    if e >= caps.per_entry {
        return Err(CapHit::Entry);
    }
    if caps.per_day.is_some_and(|c| d >= c) {
        return Err(CapHit::Day);
    }
    used.total += 1;
    used.by_entry.insert(entry.to_string(), e + 1);
    used.by_day.insert(day.to_string(), d + 1);
    Ok(Slots {
        slot: used.total as i32,
        entry_slot: (e + 1) as i32,
        // Without a daily cap the day slot is the round slot, which is unique anyway.
        day_slot: if caps.per_day.is_some() {
            (d + 1) as i32
        } else {
            used.total as i32
        },
    })
}

/// What the automatic rules look at in one vote.
#[derive(Debug, Clone)]
pub struct VoteFact {
    pub id: i64,
    pub voter: String,
    pub entry: String,
    /// Seconds since the epoch.
    pub at: i64,
    pub network: String,
    pub ua_hash: String,
    pub account_age_secs: i64,
    pub email_domain: String,
}

/// Thresholds of the automatic rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSettings {
    /// Votes from one network within any 60 s above which all of them are held.
    pub burst_per_minute: u32,
    /// Accounts younger than this (minutes) when they vote are new.
    pub new_account_minutes: u32,
    /// What happens to new accounts' votes (`NEW_*`).
    pub new_accounts: &'static str,
    /// This many voters or more with the same client and the same sequence of at least
    /// three votes are held.
    pub pattern_min_voters: u32,
}

/// The new-account policy named `name`, if it is one.
pub fn new_account_policy(name: &str) -> Option<&'static str> {
    NEW_ACCOUNT_POLICIES.into_iter().find(|p| *p == name)
}

/// The rules that look at one vote alone (used when it is cast). `on_venue`: the vote
/// came from the venue's network.
pub fn single_vote_rule(f: &VoteFact, s: &RuleSettings, on_venue: bool) -> Option<&'static str> {
    let hold_new = match s.new_accounts {
        NEW_COUNT => false,
        NEW_VENUE => !on_venue,
        _ => true,
    };
    if hold_new && f.account_age_secs < i64::from(s.new_account_minutes) * 60 {
        return Some(RULE_NEW_ACCOUNT);
    }
    domain_rule(&f.email_domain)
}

/// Whether an email domain is disposable or a look-alike. The disposable list is long
/// and searched linearly, so each domain's answer is remembered: a vote, or an audit over
/// millions of votes, asks once per domain, not once per vote. The answer depends on the
/// domain alone, so remembering it changes nothing.
pub fn domain_rule(domain: &str) -> Option<&'static str> {
    static KNOWN: std::sync::LazyLock<moka::sync::Cache<String, Option<&'static str>>> =
        std::sync::LazyLock::new(|| moka::sync::Cache::new(100_000));
    if domain.is_empty() {
        return None;
    }
    if let Some(rule) = KNOWN.get(domain) {
        return rule;
    }
    let rule = if !mailchecker::is_valid(&format!("someone@{domain}")) {
        Some(RULE_DISPOSABLE)
    } else if is_lookalike(domain) {
        Some(RULE_LOOKALIKE)
    } else {
        None
    };
    KNOWN.insert(domain.to_string(), rule);
    rule
}

/// Run every rule over a round's log. The answer depends only on the log (and the
/// settings), so anyone re-running it gets the same flags. `exempt` networks (a venue's
/// shared network) are never held for bursts. The periodic audit applies the same three
/// parts incrementally (see `service::audit_step`).
pub fn evaluate(
    votes: &[VoteFact],
    s: &RuleSettings,
    exempt: &dyn Fn(&str) -> bool,
) -> BTreeMap<i64, &'static str> {
    let mut flags: BTreeMap<i64, &'static str> = BTreeMap::new();
    for f in votes {
        if let Some(rule) = single_vote_rule(f, s, exempt(&f.network)) {
            flags.insert(f.id, rule);
        }
    }
    for id in burst_ids(votes, s, exempt) {
        flags.entry(id).or_insert(RULE_BURST);
    }
    // Identical patterns: the same client and the same ordered choices (≥ 3 votes).
    let mut seq: BTreeMap<&str, Vec<&VoteFact>> = BTreeMap::new();
    for f in votes {
        seq.entry(f.voter.as_str()).or_default().push(f);
    }
    let mut groups: HashMap<String, Vec<&str>> = HashMap::new();
    for (voter, list) in &mut seq {
        if let Some(key) = pattern_key(list) {
            groups.entry(key).or_default().push(voter);
        }
    }
    for voters in groups.values() {
        if voters.len() >= s.pattern_min_voters.max(2) as usize {
            for v in voters {
                for f in &seq[v] {
                    flags.entry(f.id).or_insert(RULE_PATTERN);
                }
            }
        }
    }
    flags
}

/// Bursts: per network, every vote inside any 60-second window that holds more than the
/// threshold.
pub fn burst_ids(votes: &[VoteFact], s: &RuleSettings, exempt: &dyn Fn(&str) -> bool) -> Vec<i64> {
    let mut by_net: BTreeMap<&str, Vec<&VoteFact>> = BTreeMap::new();
    for f in votes {
        if !exempt(&f.network) {
            by_net.entry(f.network.as_str()).or_default().push(f);
        }
    }
    let limit = s.burst_per_minute.max(1) as usize;
    let mut out = Vec::new();
    for list in by_net.values_mut() {
        list.sort_by_key(|f| (f.at, f.id));
        let mut left = 0usize;
        let mut marked_to = 0usize;
        for right in 0..list.len() {
            while list[right].at - list[left].at >= 60 {
                left += 1;
            }
            if right - left + 1 > limit {
                out.extend(list[left.max(marked_to)..=right].iter().map(|f| f.id));
                marked_to = right + 1;
            }
        }
    }
    out
}

/// A voter's pattern: a hash of the client of their first vote and their choices in
/// order, for voters with at least three votes in the round (`votes` is all of them).
pub fn pattern_key(votes: &mut [&VoteFact]) -> Option<String> {
    if votes.len() < 3 {
        return None;
    }
    votes.sort_by_key(|f| (f.at, f.id));
    let mut h = Sha256::new();
    h.update(votes[0].ua_hash.as_bytes());
    for f in votes.iter() {
        h.update(b"\n");
        h.update(f.entry.as_bytes());
    }
    Some(hex::encode(&h.finalize()[..16]))
}

/// The canonical text of a tally: `entry_id,count` lines for entries with counted votes,
/// sorted by entry id (bytewise), each ending in a newline.
pub fn tally_text(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(e, n)| format!("{e},{n}\n"))
        .collect()
}

/// SHA-256 of the canonical tally text, in hex: what anyone can recompute from the
/// exported log (see docs/voting.md).
pub fn tally_hash(counts: &BTreeMap<String, u64>) -> String {
    hex::encode(Sha256::digest(tally_text(counts).as_bytes()))
}

/// The gallery order for one viewer: a shuffle seeded by the viewer and the round, the
/// same on every visit and different for every viewer, so every entry is seen first by
/// about as many people.
pub fn gallery_order(seed: &str, ids: &mut [String]) {
    ids.sort_by_cached_key(|id| {
        let mut h = Sha256::new();
        h.update(seed.as_bytes());
        h.update([0]);
        h.update(id.as_bytes());
        h.finalize()
    });
}

/// Whether every string in `list` parses as a network (`203.0.113.0/24`) or an address.
pub fn parse_allowlist(list: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| s.to_string())
        })
        .collect()
}

/// Whether `ip` is inside any of `nets`.
pub fn allowed(nets: &[ipnet::IpNet], ip: Option<IpAddr>) -> bool {
    ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
}

/// Whether the network label `network` (as [`network_of`] writes it) meets any of
/// `nets`. The log keeps only the /24 (or /48), so a venue listed by one address covers
/// its label: a vote the writer counted from the venue is never held by the audit for
/// where it came from. (The writer decides on the exact address; the audit only adds
/// holds, so the wider match lets nothing through that the writer held.)
pub fn network_allowed(nets: &[ipnet::IpNet], network: &str) -> bool {
    let label = network.parse::<ipnet::IpNet>().ok().or_else(|| {
        network
            .split('/')
            .next()
            .and_then(|a| a.parse::<IpAddr>().ok())
            .map(ipnet::IpNet::from)
    });
    label.is_some_and(|l| {
        nets.iter()
            .any(|n| n.contains(&l.network()) || l.contains(&n.network()))
    })
}

/// Distinct values, in order of first appearance.
pub fn distinct<'a>(it: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    it.into_iter()
        .filter(|s| seen.insert(*s))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(id: i64, voter: &str, entry: &str, at: i64, net: &str) -> VoteFact {
        VoteFact {
            id,
            voter: voter.into(),
            entry: entry.into(),
            at,
            network: net.into(),
            ua_hash: "ua".into(),
            account_age_secs: 86_400,
            email_domain: "example.org".into(),
        }
    }

    const S: RuleSettings = RuleSettings {
        burst_per_minute: 3,
        new_account_minutes: 5,
        new_accounts: NEW_HOLD,
        pattern_min_voters: 3,
    };

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(network_of("203.0.113.77".parse().ok()), "203.0.113.0/24");
        assert_eq!(
            network_of("::ffff:198.51.100.9".parse().ok()),
            "198.51.100.0/24"
        );
        assert_eq!(
            network_of("2001:db8:aa:bb::1".parse().ok()),
            "2001:db8:aa::/48"
        );
        assert_eq!(network_of(None), "unknown");
    }

    #[test]
    fn slots_follow_each_cap() {
        let caps = Caps {
            per_voter: 3,
            per_entry: 2,
            per_day: None,
        };
        let mut used = Used::default();
        let a = take_slots(caps, &mut used, "e1", "d").unwrap();
        assert_eq!((a.slot, a.entry_slot, a.day_slot), (1, 1, 1));
        let b = take_slots(caps, &mut used, "e1", "d").unwrap();
        assert_eq!((b.slot, b.entry_slot), (2, 2));
        assert_eq!(take_slots(caps, &mut used, "e1", "d"), Err(CapHit::Entry));
        take_slots(caps, &mut used, "e2", "d").unwrap();
        assert_eq!(take_slots(caps, &mut used, "e3", "d"), Err(CapHit::Round));

        let daily = Caps {
            per_voter: 10,
            per_entry: 10,
            per_day: Some(2),
        };
        let mut used = Used::default();
        take_slots(daily, &mut used, "e1", "mon").unwrap();
        let s = take_slots(daily, &mut used, "e2", "mon").unwrap();
        assert_eq!(s.day_slot, 2);
        assert_eq!(take_slots(daily, &mut used, "e3", "mon"), Err(CapHit::Day));
        let t = take_slots(daily, &mut used, "e3", "tue").unwrap();
        assert_eq!((t.slot, t.day_slot), (3, 1));
    }

    #[test]
    fn lookalikes_of_big_providers_are_caught() {
        for d in [
            "gmai1.com",
            "gmial.com",
            "outl00k.com",
            "hotmall.com",
            "yahooo.com",
            "qq.corn",
        ] {
            assert!(is_lookalike(d), "{d}");
        }
        for d in [
            "gmail.com",
            "school.edu",
            "example.org",
            "museum.cn",
            "163.com",
        ] {
            assert!(!is_lookalike(d), "{d}");
        }
    }

    #[test]
    fn single_vote_rules() {
        let mut f = fact(1, "v", "e", 0, "n");
        assert_eq!(single_vote_rule(&f, &S, false), None);
        f.account_age_secs = 120;
        assert_eq!(single_vote_rule(&f, &S, false), Some(RULE_NEW_ACCOUNT));
        f.account_age_secs = 86_400;
        f.email_domain = "mailinator.com".into();
        assert_eq!(single_vote_rule(&f, &S, false), Some(RULE_DISPOSABLE));
        f.email_domain = "gmai1.com".into();
        assert_eq!(single_vote_rule(&f, &S, true), Some(RULE_LOOKALIKE));
    }

    #[test]
    fn new_accounts_follow_the_round_policy() {
        let mut f = fact(1, "v", "e", 0, "n");
        f.account_age_secs = 60;
        let with = |p| RuleSettings {
            new_accounts: p,
            ..S
        };
        // Hold: wherever it comes from.
        assert_eq!(
            single_vote_rule(&f, &with(NEW_HOLD), true),
            Some(RULE_NEW_ACCOUNT)
        );
        // Count: never held for being new.
        assert_eq!(single_vote_rule(&f, &with(NEW_COUNT), false), None);
        // Venue: counted on the venue's network, held elsewhere.
        assert_eq!(single_vote_rule(&f, &with(NEW_VENUE), true), None);
        assert_eq!(
            single_vote_rule(&f, &with(NEW_VENUE), false),
            Some(RULE_NEW_ACCOUNT)
        );
        // A throwaway address is still held at the venue.
        f.email_domain = "mailinator.com".into();
        assert_eq!(
            single_vote_rule(&f, &with(NEW_VENUE), true),
            Some(RULE_DISPOSABLE)
        );
        assert_eq!(new_account_policy("venue"), Some(NEW_VENUE));
        assert_eq!(new_account_policy("sometimes"), None);
    }

    #[test]
    fn a_burst_from_one_network_is_held_whole_but_not_from_an_exempt_one() {
        let mut votes: Vec<VoteFact> = (0..5)
            .map(|i| fact(i, &format!("v{i}"), "e", 100 + i, "10.0.0.0/24"))
            .collect();
        // Spread out: three a minute apart never exceed the threshold.
        votes.extend(
            (0..3).map(|i| fact(10 + i, &format!("w{i}"), "e", 1000 + 70 * i, "10.9.9.0/24")),
        );
        let flags = evaluate(&votes, &S, &|_| false);
        for i in 0..5 {
            assert_eq!(flags.get(&i), Some(&RULE_BURST), "vote {i}");
        }
        assert!((10..13).all(|i| !flags.contains_key(&i)));
        let exempt = evaluate(&votes, &S, &|n| n == "10.0.0.0/24");
        assert!(exempt.is_empty());
        // Exactly at the threshold nothing is held.
        let three: Vec<VoteFact> = votes[..3].to_vec();
        assert!(evaluate(&three, &S, &|_| false).is_empty());
    }

    #[test]
    fn identical_patterns_need_enough_voters() {
        let mut votes = Vec::new();
        let mut id = 0;
        for v in 0..3 {
            for (k, e) in ["a", "b", "c"].iter().enumerate() {
                id += 1;
                votes.push(fact(
                    id,
                    &format!("bot{v}"),
                    e,
                    10_000 * v + 100 * k as i64,
                    &format!("10.{v}.0.0/24"),
                ));
            }
        }
        // A fan with a different order is not part of it.
        for (k, e) in ["c", "b", "a"].iter().enumerate() {
            id += 1;
            votes.push(fact(id, "fan", e, 50_000 + k as i64 * 100, "10.99.0.0/24"));
        }
        let flags = evaluate(&votes, &S, &|_| false);
        assert_eq!(flags.len(), 9);
        assert!(flags.values().all(|r| *r == RULE_PATTERN));
        let two_bots: Vec<VoteFact> = votes
            .iter()
            .filter(|f| f.voter != "bot2")
            .cloned()
            .collect();
        assert!(evaluate(&two_bots, &S, &|_| false).is_empty());
    }

    #[test]
    fn evaluation_is_deterministic_whatever_the_order() {
        let votes: Vec<VoteFact> = (0..50)
            .map(|i| {
                fact(
                    i,
                    &format!("v{}", i % 7),
                    &format!("e{}", i % 3),
                    i * 7,
                    &format!("10.0.{}.0/24", i % 2),
                )
            })
            .collect();
        let a = evaluate(&votes, &S, &|_| false);
        let mut rev = votes.clone();
        rev.reverse();
        assert_eq!(a, evaluate(&rev, &S, &|_| false));
    }

    #[test]
    fn tally_hash_is_over_sorted_nonzero_lines() {
        let mut c = BTreeMap::new();
        c.insert("b".to_string(), 2);
        c.insert("a".to_string(), 5);
        c.insert("z".to_string(), 0);
        assert_eq!(tally_text(&c), "a,5\nb,2\n");
        // echo -n 'a,5\nb,2\n' | sha256sum
        assert_eq!(tally_hash(&c), hex::encode(Sha256::digest(b"a,5\nb,2\n")));
    }

    #[test]
    fn gallery_order_is_stable_per_viewer_and_differs_between_viewers() {
        let ids: Vec<String> = (0..20).map(|i| format!("entry-{i}")).collect();
        let mut a = ids.clone();
        gallery_order("alice|r1", &mut a);
        let mut a2 = ids.clone();
        gallery_order("alice|r1", &mut a2);
        let mut b = ids.clone();
        gallery_order("bob|r1", &mut b);
        assert_eq!(a, a2);
        assert_ne!(a, b);
        // Over many viewers, each entry comes first about equally often.
        let mut first: HashMap<String, u32> = HashMap::new();
        for v in 0..4000 {
            let mut o = ids.clone();
            gallery_order(&format!("viewer{v}|r1"), &mut o);
            *first.entry(o[0].clone()).or_default() += 1;
        }
        assert_eq!(first.len(), 20);
        assert!(first.values().all(|n| (120..=290).contains(n)), "{first:?}");
    }

    #[test]
    fn allowlists_parse_and_match() {
        let nets = parse_allowlist(&["203.0.113.0/24".into(), "198.51.100.7".into()]).unwrap();
        assert!(allowed(&nets, "203.0.113.200".parse().ok()));
        assert!(allowed(&nets, "198.51.100.7".parse().ok()));
        assert!(!allowed(&nets, "198.51.100.8".parse().ok()));
        assert!(network_allowed(&nets, "203.0.113.0/24"));
        // A venue listed by one address covers that address's /24 label in the log.
        assert!(network_allowed(&nets, "198.51.100.0/24"));
        assert!(!network_allowed(&nets, "198.51.101.0/24"));
        assert!(!network_allowed(&nets, "unknown"));
        assert_eq!(
            parse_allowlist(&["nonsense".into()]),
            Err("nonsense".to_string())
        );
    }
}
