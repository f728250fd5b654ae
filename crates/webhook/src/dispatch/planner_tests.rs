//! The planner on a simulated clock: backoff times, jitter bounds, give-up rules, ordering per
//! group, independence of groups, in-flight bounds.

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn head(delivery: i64, sub: i64, group: &str, seq: i64, at: Timestamp) -> Head {
    Head {
        delivery,
        subscription: sub,
        group: group.into(),
        seq,
        attempts: 0,
        next_attempt_at: at,
        first_attempt_at: None,
    }
}

fn no_jitter() -> Backoff {
    Backoff { jitter: 0.0, ..Backoff::default() }
}

/// Applies a recorded attempt to a head, as the store does.
fn apply(h: &mut Head, a: &DeliveryAttempt) {
    h.attempts += 1;
    h.first_attempt_at.get_or_insert(a.at);
    if let AttemptOutcome::Retry { at } = a.outcome {
        h.next_attempt_at = at;
    }
}

#[test]
fn backoff_follows_the_schedule_then_gives_up() {
    let mut p = Planner::new(Backoff { max_attempts: 5, ..no_jitter() }, Limits::default(), 1);
    let mut h = head(1, 1, "c1", 1, t(0));
    let mut now = t(0);
    let mut times = Vec::new();
    loop {
        let plan = p.plan(now, std::slice::from_ref(&h));
        if plan.send.is_empty() {
            // Not due: the plan says when, and the simulated clock jumps there.
            now = plan.wake_at.expect("a pending delivery wakes the dispatcher");
            continue;
        }
        assert_eq!(plan.send, vec![1]);
        times.push(now.as_second() - t(0).as_second());
        let a = p.complete(now, &h, &AttemptResult::Status(503));
        apply(&mut h, &a);
        match a.outcome {
            AttemptOutcome::Retry { .. } => assert_eq!(a.error.as_deref(), Some("HTTP 503")),
            AttemptOutcome::Failed => {
                assert_eq!(a.error.as_deref(), Some("HTTP 503; gave up after 5 attempt(s)"));
                break;
            }
            AttemptOutcome::Delivered => panic!("503 is not delivered"),
        }
    }
    // Attempts at 0, +1 s, +5 s, +30 s, +2 min after each other.
    assert_eq!(times, vec![0, 1, 6, 36, 156]);
}

#[test]
fn the_last_step_repeats_and_max_age_ends_it() {
    let mut p = Planner::new(Backoff { max_attempts: 1000, ..no_jitter() }, Limits::default(), 1);
    let mut h = head(1, 1, "", 1, t(0));
    let mut now = t(0);
    let mut n = 0;
    loop {
        let plan = p.plan(now, std::slice::from_ref(&h));
        if plan.send.is_empty() {
            now = plan.wake_at.unwrap();
            continue;
        }
        n += 1;
        let a = p.complete(now, &h, &AttemptResult::Timeout { after: Duration::from_secs(10) });
        apply(&mut h, &a);
        if a.outcome == AttemptOutcome::Failed {
            break;
        }
    }
    // 0, 1, 6, 36, 156, 756, 2556 s, then hourly: the last attempt starts at 2556 + 23 h = 85356 s,
    // the next would be past 24 h after the first.
    assert_eq!(now, t(2556 + 23 * 3600));
    assert_eq!(n, 7 + 23);
}

#[test]
fn jitter_is_bounded_and_seeded() {
    let backoff = Backoff::default();
    let delays = |seed| {
        let mut p = Planner::new(backoff.clone(), Limits::default(), seed);
        (1..=20).map(|n| p.delay(n)).collect::<Vec<_>>()
    };
    let a = delays(7);
    assert_eq!(a, delays(7), "same seed, same delays");
    assert_ne!(a, delays(8), "another seed, other delays");
    for (i, d) in a.iter().enumerate() {
        let base = backoff.schedule.get(i).or(backoff.schedule.last()).unwrap();
        assert!(*d >= base.mul_f64(0.8) && *d <= base.mul_f64(1.2), "attempt {}: {d:?} vs {base:?}", i + 1);
    }
    assert!(a.windows(2).any(|w| w[0] != w[1]), "jitter varies the delays");
}

#[test]
fn success_is_delivered_and_any_other_status_retries() {
    let mut p = Planner::new(no_jitter(), Limits::default(), 1);
    let h = head(1, 1, "c", 1, t(0));
    assert_eq!(p.plan(t(0), std::slice::from_ref(&h)).send, vec![1]);
    let a = p.complete(t(0), &h, &AttemptResult::Status(204));
    assert_eq!(
        a,
        DeliveryAttempt { at: t(0), outcome: AttemptOutcome::Delivered, status: Some(204), error: None }
    );
    for r in [AttemptResult::Status(404), AttemptResult::Status(301), AttemptResult::Error("refused".into())]
    {
        p.plan(t(0), std::slice::from_ref(&h));
        let a = p.complete(t(0), &h, &r);
        assert_eq!(a.outcome, AttemptOutcome::Retry { at: t(1) }, "{r:?}");
    }
}

#[test]
fn one_in_flight_per_group_and_the_oldest_first() {
    let mut p = Planner::new(no_jitter(), Limits::default(), 1);
    // Call c1 has events 1 and 2 for subscription 1; call c2 has event 3; subscription 2 sees
    // event 1 too. Event 2 is listed first and is due earlier: it must still wait for event 1.
    let heads = vec![
        head(12, 1, "c1", 2, t(-5)),
        head(11, 1, "c1", 1, t(0)),
        head(13, 1, "c2", 3, t(0)),
        head(21, 2, "c1", 1, t(0)),
    ];
    let mut sent = p.plan(t(0), &heads).send;
    sent.sort_unstable();
    assert_eq!(sent, vec![11, 13, 21]);
    // While 11 is in flight nothing else of (1, c1) goes, even when asked again.
    assert!(p.plan(t(1), &heads).send.is_empty());
    let a = p.complete(t(1), &heads[1], &AttemptResult::Status(200));
    assert_eq!(a.outcome, AttemptOutcome::Delivered);
    // The store's next head of (1, c1) is event 2.
    assert_eq!(p.plan(t(1), &[head(12, 1, "c1", 2, t(-5))]).send, vec![12]);
}

#[test]
fn a_retrying_group_holds_only_itself() {
    let mut p = Planner::new(no_jitter(), Limits::default(), 1);
    let mut dead = head(1, 1, "c1", 1, t(0));
    assert_eq!(p.plan(t(0), std::slice::from_ref(&dead)).send, vec![1]);
    let a = p.complete(t(0), &dead, &AttemptResult::Error("connection refused".into()));
    apply(&mut dead, &a);
    // Another call to the same subscription and another subscription go at once; the dead
    // group's retry is what the dispatcher wakes up for.
    let heads = vec![dead.clone(), head(2, 1, "c2", 2, t(0)), head(3, 2, "c1", 1, t(0))];
    let mut plan = p.plan(t(0), &heads);
    plan.send.sort_unstable();
    assert_eq!(plan.send, vec![2, 3]);
    assert_eq!(plan.wake_at, Some(t(1)));
}

#[test]
fn in_flight_bounds_per_subscription_and_overall() {
    let mut p = Planner::new(no_jitter(), Limits { per_subscription: 2, total: 3 }, 1);
    let heads: Vec<Head> = (0..5)
        .flat_map(|i| {
            [head(100 + i, 1, &format!("a{i}"), i, t(0)), head(200 + i, 2, &format!("b{i}"), i, t(0))]
        })
        .collect();
    let sent = p.plan(t(0), &heads).send;
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().filter(|d| **d < 200).count() <= 2 && sent.iter().filter(|d| **d >= 200).count() <= 2
    );
    // Full: nothing more, and no timer (a completion calls for the next plan).
    assert_eq!(p.plan(t(0), &heads), Plan::default());
    let done = heads.iter().find(|h| h.delivery == sent[0]).unwrap();
    p.complete(t(0), done, &AttemptResult::Status(200));
    let rest: Vec<Head> = heads.iter().filter(|h| h.delivery != sent[0]).cloned().collect();
    assert_eq!(p.plan(t(0), &rest).send.len(), 1);
    assert_eq!(p.in_flight(), 3);
}

#[test]
fn a_flaky_receiver_gets_a_call_in_order_on_a_simulated_clock() {
    // Every event fails twice, then succeeds: the call's five events arrive in order, each after
    // 1 s + 5 s of backoff, and nothing is sent twice at once.
    let mut p = Planner::new(no_jitter(), Limits::default(), 1);
    let mut queue: Vec<Head> = (1..=5).map(|i| head(i, 1, "call", i, t(0))).collect();
    let mut fails: HashMap<i64, u32> = HashMap::new();
    let mut delivered = Vec::new();
    let mut now = t(0);
    while !queue.is_empty() {
        // The store hands out the head of the group only.
        let plan = p.plan(now, &queue[..1]);
        let Some(&d) = plan.send.first() else {
            now = plan.wake_at.unwrap();
            continue;
        };
        let n = fails.entry(d).or_insert(0);
        let result = if *n < 2 { AttemptResult::Status(500) } else { AttemptResult::Status(200) };
        *n += 1;
        let a = p.complete(now, &queue[0], &result);
        apply(&mut queue[0], &a);
        if a.outcome == AttemptOutcome::Delivered {
            delivered.push((d, now.as_second() - t(0).as_second()));
            queue.remove(0);
        }
    }
    assert_eq!(delivered, vec![(1, 6), (2, 12), (3, 18), (4, 24), (5, 30)]);
}
