//! The rendezvous for the parts of a batched task: each part's validation waits until every part
//! still running has a candidate waiting too, then one of them validates all the candidates at
//! once, so concurrent conversations share one sandbox build instead of one each.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

pub(crate) struct Rendezvous<I, O> {
    state: Mutex<State<I, O>>,
    changed: Notify,
}

struct State<I, O> {
    /// Parts that started and did not finish: a round waits for each of them.
    running: BTreeSet<usize>,
    waiting: BTreeMap<usize, I>,
    results: BTreeMap<usize, O>,
    /// A round is being validated; new candidates wait for the next one.
    validating: bool,
}

impl<I, O> Default for Rendezvous<I, O> {
    fn default() -> Self {
        Rendezvous {
            state: Mutex::new(State {
                running: BTreeSet::new(),
                waiting: BTreeMap::new(),
                results: BTreeMap::new(),
                validating: false,
            }),
            changed: Notify::new(),
        }
    }
}

impl<I, O> Rendezvous<I, O> {
    fn state(&self) -> MutexGuard<'_, State<I, O>> {
        // Plain bookkeeping: a panic elsewhere cannot leave it half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn started(&self, part: usize) {
        self.state().running.insert(part);
    }

    /// A finished part is no longer waited for, which may complete a round.
    pub fn finished(&self, part: usize) {
        self.state().running.remove(&part);
        self.changed.notify_waiters();
    }

    /// Hands in `part`'s candidate and returns its result. Once every running part has handed
    /// one in, the caller that notices first validates them all with its `validate`, which
    /// returns one result per candidate, in order. If that caller's future is dropped mid-round
    /// the others wait forever, so the whole batch must be cancelled together.
    pub async fn submit<F, Fut>(&self, part: usize, candidate: I, validate: F) -> O
    where
        F: FnOnce(Vec<I>) -> Fut,
        Fut: Future<Output = Vec<O>>,
    {
        let mut validate = Some(validate);
        self.state().waiting.insert(part, candidate);
        self.changed.notify_waiters();
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let round = {
                let mut state = self.state();
                if let Some(result) = state.results.remove(&part) {
                    return result;
                }
                let complete = state.waiting.contains_key(&part)
                    && state.running.iter().all(|p| state.waiting.contains_key(p));
                // A caller gets its own result from the round it leads, so it leads at most once.
                if complete && !state.validating && validate.is_some() {
                    state.validating = true;
                    Some(std::mem::take(&mut state.waiting))
                } else {
                    None
                }
            };
            let Some(round) = round else {
                changed.await;
                continue;
            };
            let Some(validate) = validate.take() else {
                continue;
            };
            let (parts, candidates): (Vec<usize>, Vec<I>) = round.into_iter().unzip();
            let results = validate(candidates).await;
            let mut state = self.state();
            state.results.extend(parts.into_iter().zip(results));
            state.validating = false;
            drop(state);
            self.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;

    type Rounds = Arc<Mutex<Vec<Vec<u32>>>>;

    async fn submit(c: &Rendezvous<u32, u32>, part: usize, value: u32, rounds: &Rounds) -> u32 {
        let rounds = rounds.clone();
        c.submit(part, value, move |values: Vec<u32>| async move {
            rounds.lock().unwrap().push(values.clone());
            values.into_iter().map(|v| v * 10).collect()
        })
        .await
    }

    #[tokio::test]
    async fn running_parts_are_validated_in_one_round() {
        let c = Rendezvous::default();
        let rounds = Rounds::default();
        for part in 0..3 {
            c.started(part);
        }
        let (a, b, d) = tokio::join!(
            submit(&c, 0, 1, &rounds),
            submit(&c, 1, 2, &rounds),
            submit(&c, 2, 3, &rounds)
        );
        assert_eq!((a, b, d), (10, 20, 30));
        assert_eq!(*rounds.lock().unwrap(), vec![vec![1, 2, 3]]);
    }

    #[tokio::test]
    async fn a_part_that_finishes_is_not_waited_for() {
        let c = Arc::new(Rendezvous::default());
        let rounds = Rounds::default();
        c.started(0);
        c.started(1);
        let waiting = {
            let (c, rounds) = (c.clone(), rounds.clone());
            tokio::spawn(async move { submit(&c, 0, 7, &rounds).await })
        };
        // Part 0 cannot go on while part 1 might still hand in a candidate.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(rounds.lock().unwrap().is_empty());
        c.finished(1);
        // A deadlock guard, not a speed check: the round must happen at all.
        let result = tokio::time::timeout(std::time::Duration::from_secs(30), waiting).await;
        assert_eq!(result.expect("part 0 was never validated").unwrap(), 70);
        assert_eq!(*rounds.lock().unwrap(), vec![vec![7]]);
    }
}
