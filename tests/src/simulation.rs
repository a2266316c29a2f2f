//! A fleet of clients and one service that goes fully down and comes back: how much load each
//! retry set-up adds during the outage, how sharp the spike is at recovery, and how many calls
//! succeed. Runs on tokio's paused clock, with the real attribute, in about a second.
//!
//! The outage has the incident's shape. Each client makes a call every [`PERIOD`], the clients'
//! phases spread evenly over it, and a request takes [`LATENCY`]. From [`OUTAGE_START`] the
//! service goes silent: a request sent to it hangs, as on a dead keep-alive socket, until the
//! service restarts at [`OUTAGE_END`] and every hung request fails at once (transiently). Nothing
//! here is random but the jitter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vta_retry_runtime::{RetryBudget, vta_retry};

/// Clients in the fleet.
pub const CLIENTS: usize = 1000;
/// Between one client's calls.
pub const PERIOD: Duration = Duration::from_secs(2);
/// Calls per client at most (a tick missed while a call hangs is skipped).
pub const CALLS_PER_CLIENT: u32 = 25;
/// The service's time to answer.
pub const LATENCY: Duration = Duration::from_millis(20);
/// When the service goes down.
pub const OUTAGE_START: Duration = Duration::from_secs(10);
/// When it comes back.
pub const OUTAGE_END: Duration = Duration::from_secs(30);
/// The width of one interval of the load curve.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// How long after recovery the spike is looked for.
pub const RECOVERY_WINDOW: Duration = Duration::from_secs(5);

const INTERVALS: usize = 600;

/// The retry set-ups compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// One attempt per call.
    NoRetry,
    /// `attempts = 3, backoff = "500ms..1s"`.
    ThreeAttempts,
    /// The same, with `jitter = "full"`.
    FullJitter,
    /// The same as `ThreeAttempts`, drawing on a shared `RetryBudget::new(100, 0.1)`.
    Budget,
    /// Full jitter and the budget.
    JitterAndBudget,
}

impl Setup {
    /// Every set-up, in the table's order.
    pub const ALL: [Setup; 5] = [
        Setup::NoRetry,
        Setup::ThreeAttempts,
        Setup::FullJitter,
        Setup::Budget,
        Setup::JitterAndBudget,
    ];

    /// The set-up as the attribute spells it.
    pub const fn attribute(self) -> &'static str {
        match self {
            Setup::NoRetry => "no retry",
            Setup::ThreeAttempts => "attempts = 3",
            Setup::FullJitter => "attempts = 3, jitter = \"full\"",
            Setup::Budget => "attempts = 3, budget",
            Setup::JitterAndBudget => "attempts = 3, jitter = \"full\", budget",
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The set-up run.
    pub setup: Setup,
    /// Requests that reached the service per interval, from the start.
    pub load: Vec<u32>,
    /// User calls started while the service was down.
    pub outage_calls: u64,
    /// The requests those calls made, their retries after the recovery included.
    pub outage_requests: u64,
    /// User calls made in all, and how many succeeded.
    pub calls: u64,
    /// User calls that succeeded.
    pub succeeded: u64,
    /// User calls started after the recovery, and how many of them succeeded.
    pub calls_after_recovery: u64,
    /// Of those, the ones that succeeded.
    pub succeeded_after_recovery: u64,
}

impl Outcome {
    /// Requests sent ÷ user calls, for the calls started during the outage.
    pub fn amplification(&self) -> f64 {
        self.outage_requests as f64 / self.outage_calls as f64
    }

    /// The most requests in one interval within [`RECOVERY_WINDOW`] of the recovery.
    pub fn peak_at_recovery(&self) -> u32 {
        let from = bucket(OUTAGE_END);
        let to = bucket(OUTAGE_END + RECOVERY_WINDOW);
        self.load[from..to].iter().copied().max().unwrap_or(0)
    }
}

fn bucket(at: Duration) -> usize {
    ((at.as_millis() / INTERVAL.as_millis()) as usize).min(INTERVALS - 1)
}

/// The service: silent during the outage, counting every request by interval.
struct Service {
    start: Instant,
    load: Vec<AtomicU32>,
}

/// The service's failure: a hung request reset by the restart. Transient.
#[derive(Debug)]
pub struct Reset;

impl vta_retry_runtime::Retryable for Reset {
    fn is_transient(&self) -> bool {
        true
    }
}

impl Service {
    async fn request(&self, requests: &AtomicU32) -> Result<(), Reset> {
        requests.fetch_add(1, Ordering::Relaxed);
        let at = self.start.elapsed();
        self.load[bucket(at)].fetch_add(1, Ordering::Relaxed);
        if (OUTAGE_START..OUTAGE_END).contains(&at) {
            tokio::time::sleep_until(self.start + OUTAGE_END).await;
            return Err(Reset);
        }
        tokio::time::sleep(LATENCY).await;
        Ok(())
    }
}

static BUDGET: RetryBudget = RetryBudget::new(100, 0.1);
static JITTER_BUDGET: RetryBudget = RetryBudget::new(100, 0.1);

#[vta_retry(attempts = 1)]
async fn no_retry(service: &Service, requests: &AtomicU32) -> Result<(), Reset> {
    service.request(requests).await
}

#[vta_retry(attempts = 3, backoff = "500ms..1s")]
async fn three_attempts(service: &Service, requests: &AtomicU32) -> Result<(), Reset> {
    service.request(requests).await
}

#[vta_retry(attempts = 3, backoff = "500ms..1s", jitter = "full")]
async fn full_jitter(service: &Service, requests: &AtomicU32) -> Result<(), Reset> {
    service.request(requests).await
}

#[vta_retry(attempts = 3, backoff = "500ms..1s", budget = BUDGET)]
async fn budgeted(service: &Service, requests: &AtomicU32) -> Result<(), Reset> {
    service.request(requests).await
}

#[vta_retry(attempts = 3, backoff = "500ms..1s", jitter = "full", budget = JITTER_BUDGET)]
async fn jittered_and_budgeted(service: &Service, requests: &AtomicU32) -> Result<(), Reset> {
    service.request(requests).await
}

async fn call(setup: Setup, service: &Service, requests: &AtomicU32) -> Result<(), Reset> {
    match setup {
        Setup::NoRetry => no_retry(service, requests).await,
        Setup::ThreeAttempts => three_attempts(service, requests).await,
        Setup::FullJitter => full_jitter(service, requests).await,
        Setup::Budget => budgeted(service, requests).await,
        Setup::JitterAndBudget => jittered_and_budgeted(service, requests).await,
    }
}

/// Runs the fleet under `setup`, on a paused clock. Each set-up's budget is a `static` of its
/// own, so each set-up runs once per process.
pub fn run(setup: Setup) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let service = Arc::new(Service {
            start: Instant::now(),
            load: (0..INTERVALS).map(|_| AtomicU32::new(0)).collect(),
        });
        // Calls made, succeeded, started in the outage, the requests those made, started after
        // the recovery, and of those succeeded.
        let counts = Arc::new([(); 6].map(|()| AtomicU64::new(0)));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (service, counts) = (Arc::clone(&service), Arc::clone(&counts));
                let phase = PERIOD * u32::try_from(client).unwrap_or(0) / CLIENTS as u32;
                tokio::spawn(async move {
                    // A call at each tick of the client's schedule; a tick missed while a call
                    // hung is skipped, not caught up.
                    let mut tick = phase;
                    for _ in 0..CALLS_PER_CLIENT {
                        tokio::time::sleep_until(service.start + tick).await;
                        let started = service.start.elapsed();
                        let requests = AtomicU32::new(0);
                        let ok = call(setup, &service, &requests).await.is_ok();
                        let during = (OUTAGE_START..OUTAGE_END).contains(&started);
                        let after = started >= OUTAGE_END;
                        let requests = u64::from(requests.load(Ordering::Relaxed));
                        for (index, add) in [
                            1,
                            u64::from(ok),
                            u64::from(during),
                            if during { requests } else { 0 },
                            u64::from(after),
                            u64::from(after && ok),
                        ]
                        .into_iter()
                        .enumerate()
                        {
                            counts[index].fetch_add(add, Ordering::Relaxed);
                        }
                        tick += PERIOD;
                        while service.start + tick < Instant::now() {
                            tick += PERIOD;
                        }
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.expect("a client");
        }
        let count = |index: usize| counts[index].load(Ordering::Relaxed);
        Outcome {
            setup,
            load: service
                .load
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .collect(),
            calls: count(0),
            succeeded: count(1),
            outage_calls: count(2),
            outage_requests: count(3),
            calls_after_recovery: count(4),
            succeeded_after_recovery: count(5),
        }
    })
}

/// The load curves of `outcomes` as an SVG chart: requests per interval over the whole run, the
/// outage shaded, and the seconds around the restart drawn again at a larger scale.
pub fn svg(outcomes: &[Outcome]) -> String {
    const WIDTH: f64 = 1000.0;
    const HEIGHT: f64 = 330.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n"
    );
    let whole = Panel {
        left: 56.0,
        width: 500.0,
        from: 0.0,
        to: 50.0,
        step: 10.0,
        title: "the whole run",
    };
    let zoom = Panel {
        left: 640.0,
        width: 340.0,
        from: 29.5,
        to: 31.5,
        step: 0.5,
        title: "around the restart",
    };
    whole.draw(&mut out, outcomes);
    zoom.draw(&mut out, outcomes);
    for (i, (outcome, colour)) in outcomes.iter().zip(COLOURS).enumerate() {
        let x = 56.0 + (i % 3) as f64 * 300.0;
        let y = HEIGHT - 30.0 + (i / 3) as f64 * 16.0;
        out += &format!(
            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{y:.1}\">{}</text>\n",
            x + 14.0,
            y - 4.0,
            y - 4.0,
            x + 18.0,
            outcome.setup.attribute().replace('"', "&quot;")
        );
    }
    out += "</svg>\n";
    out
}

const COLOURS: [&str; 5] = ["#7f7f7f", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"];

/// One chart of the SVG: a window of time, in seconds.
struct Panel {
    left: f64,
    width: f64,
    from: f64,
    to: f64,
    step: f64,
    title: &'static str,
}

impl Panel {
    const TOP: f64 = 24.0;
    const HEIGHT: f64 = 230.0;

    fn draw(&self, out: &mut String, outcomes: &[Outcome]) {
        let (top, height) = (Self::TOP, Self::HEIGHT);
        let seconds = INTERVAL.as_secs_f64();
        let first = (self.from / seconds) as usize;
        let last = ((self.to / seconds) as usize).min(INTERVALS);
        let peak = outcomes
            .iter()
            .flat_map(|o| o.load[first..last].iter().copied())
            .max()
            .unwrap_or(1)
            .max(1);
        let scale = f64::from(peak.div_ceil(300) * 300);
        let x = |t: f64| self.left + (t - self.from) / (self.to - self.from) * self.width;
        let y = |n: f64| top + height - n / scale * height;
        let outage = (
            x(OUTAGE_START.as_secs_f64().max(self.from)),
            x(OUTAGE_END.as_secs_f64().min(self.to)),
        );
        *out += &format!(
            "<text x=\"{:.1}\" y=\"14\" font-weight=\"bold\">{}</text>\n<rect x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{height}\" fill=\"#f2f2f2\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">service silent</text>\n",
            self.left,
            self.title,
            outage.0,
            (outage.1 - outage.0).max(0.0),
            f64::midpoint(outage.0, outage.1),
            top + 12.0,
        );
        for tick in 0..=5 {
            let n = scale / 5.0 * f64::from(tick);
            *out += &format!(
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{n:.0}</text>\n",
                self.left,
                self.left + self.width,
                y(n),
                y(n),
                self.left - 4.0,
                y(n) + 4.0
            );
        }
        let mut t = self.from;
        while t <= self.to + 1e-9 {
            *out += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t} s</text>\n",
                x(t),
                top + height + 14.0
            );
            t += self.step;
        }
        *out += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" transform=\"rotate(-90 {:.1} {:.1})\" text-anchor=\"middle\">requests per 100 ms</text>\n",
            self.left - 40.0,
            top + height / 2.0,
            self.left - 40.0,
            top + height / 2.0
        );
        for (outcome, colour) in outcomes.iter().zip(COLOURS) {
            let points: Vec<String> = (first..last)
                .map(|i| {
                    format!(
                        "{:.1},{:.1}",
                        x(i as f64 * seconds),
                        y(f64::from(outcome.load[i]))
                    )
                })
                .collect();
            *out += &format!(
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.4\" points=\"{}\"/>\n",
                points.join(" ")
            );
        }
    }
}
