//! `tether-bench-invalidation API_KEY IDS_FILE COUNT BASE_A BASE_B [BASE_C…]`: how long a
//! disconnect on replica A takes to stop token reads on the other replicas.
//!
//! For each of the first COUNT integrations in IDS_FILE: reads its token twice on every other
//! replica (so their caches hold it), then, while one poller per other replica reads the token
//! back to back, disconnects it on A (`DELETE /api/v1/integrations/{id}`). The delay of a
//! replica is from the moment A's answer arrived (the change committed) to the sending of the
//! first read that replica refused; a read sent before that may still be served. After the
//! first refusal each poller reads 20 more times: any 200 among them is a token served after
//! the invalidation, and fails the run.
//!
//! Prints one line per replica and a summary line starting with `INVALIDATION`.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tether_bench::Failure;

/// Reads after the first refusal that must all be refused too.
const CONFIRMATIONS: usize = 20;
/// A replica still serving the token this long after the disconnect fails the run.
const GIVE_UP: Duration = Duration::from_secs(10);

struct Sample {
    /// Milliseconds from A's answer to the sending of the first refused read (negative: the
    /// refusal was sent before A's answer arrived).
    delay_ms: f64,
    /// Reads answered 200 that were sent after A's answer.
    served_after_answer: usize,
    /// 200s after the first refusal.
    served_after_refusal: usize,
}

async fn read(client: &reqwest::Client, url: &str, key: &str) -> Result<u16, Failure> {
    Ok(client
        .get(url)
        .bearer_auth(key)
        .send()
        .await?
        .status()
        .as_u16())
}

/// Reads `url` back to back until refused, then `CONFIRMATIONS` more times. Answers the send
/// time of every read with its status.
async fn poll(url: String, key: String) -> Result<Vec<(Instant, u16)>, Failure> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut reads = Vec::new();
    let mut after_refusal = None;
    loop {
        let sent = Instant::now();
        let status = read(&client, &url, &key).await?;
        reads.push((sent, status));
        if status != 200 && after_refusal.is_none() {
            after_refusal = Some(0);
        }
        match &mut after_refusal {
            Some(n) if *n >= CONFIRMATIONS => return Ok(reads),
            Some(n) => *n += 1,
            None if started.elapsed() > GIVE_UP => {
                return Err(format!("{url} still answers 200 after {GIVE_UP:?}").into());
            }
            None => {}
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run() -> Result<bool, Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        return Err(
            "usage: tether-bench-invalidation API_KEY IDS_FILE COUNT BASE_A BASE_B [BASE_C…]"
                .into(),
        );
    }
    let (key, ids_file, count) = (&args[0], &args[1], args[2].parse::<usize>()?);
    let (a, others) = (&args[3], &args[4..]);
    let ids: Vec<String> = std::fs::read_to_string(ids_file)?
        .lines()
        .take(count)
        .map(str::to_owned)
        .collect();
    let client = reqwest::Client::new();
    let mut samples: Vec<Vec<Sample>> = others.iter().map(|_| Vec::new()).collect();
    for id in &ids {
        let path = format!("/api/v1/integrations/{id}/token");
        for base in others {
            for _ in 0..2 {
                let status = read(&client, &format!("{base}{path}"), key).await?;
                if status != 200 {
                    return Err(
                        format!("{base}{path} answered {status} before the disconnect").into(),
                    );
                }
            }
        }
        let pollers: Vec<_> = others
            .iter()
            .map(|base| tokio::spawn(poll(format!("{base}{path}"), key.clone())))
            .collect();
        let gone = client
            .delete(format!("{a}/api/v1/integrations/{id}"))
            .bearer_auth(key)
            .send()
            .await?;
        let answered = Instant::now();
        if gone.status() != 200 {
            return Err(format!("the disconnect on A answered {}", gone.status()).into());
        }
        for (poller, replica) in pollers.into_iter().zip(samples.iter_mut()) {
            let reads = poller.await??;
            let first_refused = reads
                .iter()
                .position(|(_, status)| *status != 200)
                .ok_or("a poller stopped without a refusal")?;
            let (refused_at, _) = reads[first_refused];
            let delay_ms = if refused_at >= answered {
                (refused_at - answered).as_secs_f64() * 1000.0
            } else {
                -((answered - refused_at).as_secs_f64() * 1000.0)
            };
            replica.push(Sample {
                delay_ms,
                served_after_answer: reads
                    .iter()
                    .filter(|(sent, status)| *status == 200 && *sent > answered)
                    .count(),
                served_after_refusal: reads[first_refused..]
                    .iter()
                    .filter(|(_, status)| *status == 200)
                    .count(),
            });
        }
    }

    let mut out = std::io::stdout();
    let mut all = Vec::new();
    let mut violations = 0;
    let mut served_after_answer = 0;
    for (base, replica) in others.iter().zip(&samples) {
        let mut delays: Vec<f64> = replica.iter().map(|s| s.delay_ms.max(0.0)).collect();
        delays.sort_by(f64::total_cmp);
        let after: usize = replica.iter().map(|s| s.served_after_answer).sum();
        let bad: usize = replica.iter().map(|s| s.served_after_refusal).sum();
        writeln!(
            out,
            "replica {base}: samples={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} \
             reads_served_after_the_disconnect_answer={after} served_after_first_refusal={bad}",
            delays.len(),
            percentile(&delays, 50.0),
            percentile(&delays, 99.0),
            delays.last().copied().unwrap_or_default(),
        )?;
        all.extend(delays);
        violations += bad;
        served_after_answer += after;
    }
    all.sort_by(f64::total_cmp);
    writeln!(
        out,
        "INVALIDATION samples={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} \
         served_after_answer={served_after_answer} served_after_refusal={violations}",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.last().copied().unwrap_or_default(),
    )?;
    Ok(violations == 0)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("a replica served a token after it had refused it");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("tether-bench-invalidation: {e}");
            ExitCode::FAILURE
        }
    }
}
