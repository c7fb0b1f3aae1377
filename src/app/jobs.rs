//! Background work, one pattern for all of it: a [`JobSlot`] holds the newest
//! request not yet started (an older one is dropped) and the one job running on
//! a task pool. Systems submit, launch and poll; the frame never waits.

use bevy::tasks::{AsyncComputeTaskPool, IoTaskPool, Task, block_on, poll_once};

/// One queue: the newest waiting request and the one job in flight, each with its id.
pub struct JobSlot<Req, Out> {
    pending: Option<(u64, Req)>,
    in_flight: Option<(u64, Task<Out>)>,
}

impl<Req, Out> Default for JobSlot<Req, Out> {
    fn default() -> Self {
        Self { pending: None, in_flight: None }
    }
}

/// Which pool a job runs on: computation (solves, overlays) or loading and
/// data preparation, so that a slow load never holds up a solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    Compute,
    Io,
}

impl<Req: Send + 'static, Out: Send + 'static> JobSlot<Req, Out> {
    /// Queues a request; true when it replaced one still waiting.
    pub fn submit(&mut self, id: u64, request: Req) -> bool {
        self.pending.replace((id, request)).is_some()
    }

    /// Starts the waiting request with `work` if nothing runs; true when it started.
    pub fn launch(&mut self, pool: Pool, work: impl FnOnce(Req) -> Out + Send + 'static) -> bool {
        if self.in_flight.is_some() {
            return false;
        }
        let Some((id, request)) = self.pending.take() else { return false };
        let job = async move { work(request) };
        let task = match pool {
            Pool::Compute => AsyncComputeTaskPool::get().spawn(job),
            Pool::Io => IoTaskPool::get().spawn(job),
        };
        self.in_flight = Some((id, task));
        true
    }

    /// The finished job, if the one in flight is done.
    pub fn poll(&mut self) -> Option<(u64, Out)> {
        let (id, task) = self.in_flight.as_mut()?;
        let out = block_on(poll_once(task))?;
        let id = *id;
        self.in_flight = None;
        Some((id, out))
    }

    /// The request waiting to start, if any.
    pub fn pending(&self) -> Option<&Req> {
        self.pending.as_ref().map(|(_, r)| r)
    }

    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    pub fn is_running(&self) -> bool {
        self.in_flight.is_some()
    }

    pub fn is_idle(&self) -> bool {
        !self.has_pending() && !self.is_running()
    }

    /// Forgets the waiting request and drops (cancels) the running one.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}
