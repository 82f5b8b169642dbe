//! Where a scan's time goes, one stage at a time, on one thread:
//!
//! ```text
//! cargo run --release -p tamperwatch-detect --example stages -- bench-data/1000000
//! ```
//!
//! Prints records per second for: reading the files; decompressing; decompressing and parsing
//! every record; decompressing, parsing and evaluating the built-in catalog. Each stage shows
//! its wall-clock time and, where Linux tells it (`/proc/self/stat`), the CPU time the process
//! spent in it: on a machine shared with other work the CPU time is the steadier of the two.

// A measuring tool: a panic is a failed measurement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use tamperwatch_detect::Detector;
use tamperwatch_event::{Limits, Location, ReadError, Record, Visit, gunzip, read};

struct Count<'d> {
    detector: Option<&'d Detector>,
    records: u64,
    findings: u64,
}

impl Visit for Count<'_> {
    fn wants(&mut self, keys: &tamperwatch_event::Keys<'_>) -> bool {
        self.detector.is_none_or(|d| d.could_match(keys))
    }
    fn skipped(&mut self, _at: Location) {
        self.records += 1;
    }
    fn record(&mut self, _at: Location, record: Record<'_>) {
        self.records += 1;
        if let Some(d) = self.detector {
            let mut out = Vec::new();
            d.detect(&record, &mut out).unwrap();
            self.findings += out.len() as u64;
        }
    }
    fn error(&mut self, at: Location, error: ReadError) {
        panic!("{at}: {error}");
    }
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: stages DIR"));
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().to_string_lossy().ends_with(".json.gz"))
        .map(|e| e.into_path())
        .collect();
    let limits = Limits::default();
    let detector = Detector::new(tamperwatch_catalog::load().unwrap());

    let t = Clock::start();
    let compressed: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let read_t = t.stop();

    let t = Clock::start();
    let mut bytes = 0usize;
    for c in &compressed {
        bytes += gunzip(c, limits.max_decompressed).unwrap().len();
    }
    let gunzip_t = t.stop();

    // Only the outer document: the records as raw JSON text.
    let plain: Vec<Vec<u8>> = compressed
        .iter()
        .map(|c| gunzip(c, limits.max_decompressed).unwrap())
        .collect();
    #[derive(serde::Deserialize)]
    struct Top<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    let t = Clock::start();
    let mut raw_records = 0usize;
    for p in &plain {
        raw_records += serde_json::from_slice::<Top<'_>>(p).unwrap().records.len();
    }
    let split_t = t.stop();
    let t = Clock::start();
    let mut typed = 0usize;
    for p in &plain {
        for r in serde_json::from_slice::<Top<'_>>(p).unwrap().records {
            typed += usize::from(Record::parse(r, 1 << 20).unwrap().event_name.is_some());
        }
    }
    let typed_t = t.stop();

    let mut plain_parse = Count {
        detector: None,
        records: 0,
        findings: 0,
    };
    let t = Clock::start();
    for p in &plain {
        read(p, &limits, &mut plain_parse);
    }
    let plain_parse_t = t.stop();

    let mut plain_detect = Count {
        detector: Some(&detector),
        records: 0,
        findings: 0,
    };
    let t = Clock::start();
    for p in &plain {
        read(p, &limits, &mut plain_detect);
    }
    let plain_detect_t = t.stop();

    let mut parse = Count {
        detector: None,
        records: 0,
        findings: 0,
    };
    let t = Clock::start();
    for c in &compressed {
        read(c, &limits, &mut parse);
    }
    let parse_t = t.stop();

    let mut full = Count {
        detector: Some(&detector),
        records: 0,
        findings: 0,
    };
    let t = Clock::start();
    for c in &compressed {
        read(c, &limits, &mut full);
    }
    let full_t = t.stop();

    let n = parse.records as f64;
    let mib = bytes as f64 / 1048576.0;
    println!(
        "{} files, {} records, {mib:.0} MiB decompressed, one thread",
        files.len(),
        parse.records,
    );
    println!("stage                    wall       cpu   records/s (wall)");
    read_t.print("read files", None, "");
    gunzip_t.print(
        "gunzip",
        Some(n),
        &format!("  {:>6.0} MiB/s", mib / gunzip_t.wall),
    );
    split_t.print("split (no gunzip)", Some(raw_records as f64), "");
    typed_t.print("split+typed (no gz)", Some(typed as f64), "");
    plain_parse_t.print("read() (no gunzip)", Some(plain_parse.records as f64), "");
    plain_detect_t.print(
        "read()+detect (no gz)",
        Some(plain_detect.records as f64),
        "",
    );
    parse_t.print("gunzip+parse", Some(n), "");
    full_t.print(
        "gunzip+parse+detect",
        Some(n),
        &format!("  ({} findings)", full.findings),
    );
}

/// Wall-clock and CPU time from a start.
struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

/// What one stage took.
struct Stage {
    wall: f64,
    cpu: Option<f64>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    fn stop(&self) -> Stage {
        Stage {
            wall: self.wall.elapsed().as_secs_f64(),
            cpu: cpu_seconds().zip(self.cpu).map(|(now, then)| now - then),
        }
    }
}

impl Stage {
    fn print(&self, name: &str, records: Option<f64>, extra: &str) {
        let cpu = self.cpu.map_or("-".to_owned(), |c| format!("{c:.2} s"));
        let rate = records.map_or(String::new(), |r| format!("{:>10.0}", r / self.wall));
        println!("{name:<22} {:>6.2} s {cpu:>9} {rate}{extra}", self.wall);
    }
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (Linux), in
/// seconds; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are the 12th and 13th, in clock ticks (100 per second on Linux).
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ').skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
