//! Where a scan's time goes, one stage at a time, on one thread:
//!
//! ```text
//! cargo run --release -p tamperwatch-detect --example stages -- bench-data/1000000
//! ```
//!
//! Prints records per second for: reading the files; decompressing; decompressing and parsing
//! every record; decompressing, parsing and evaluating the built-in catalog.

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

    let t = Instant::now();
    let compressed: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let read_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut bytes = 0usize;
    for c in &compressed {
        bytes += gunzip(c, limits.max_decompressed).unwrap().len();
    }
    let gunzip_s = t.elapsed().as_secs_f64();

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
    let t = Instant::now();
    let mut raw_records = 0usize;
    for p in &plain {
        raw_records += serde_json::from_slice::<Top<'_>>(p).unwrap().records.len();
    }
    let split_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut typed = 0usize;
    for p in &plain {
        for r in serde_json::from_slice::<Top<'_>>(p).unwrap().records {
            typed += usize::from(Record::parse(r, 1 << 20).unwrap().event_name.is_some());
        }
    }
    let typed_s = t.elapsed().as_secs_f64();

    let mut plain_parse = Count {
        detector: None,
        records: 0,
        findings: 0,
    };
    let t = Instant::now();
    for p in &plain {
        read(p, &limits, &mut plain_parse);
    }
    let plain_parse_s = t.elapsed().as_secs_f64();

    let mut plain_detect = Count {
        detector: Some(&detector),
        records: 0,
        findings: 0,
    };
    let t = Instant::now();
    for p in &plain {
        read(p, &limits, &mut plain_detect);
    }
    let plain_detect_s = t.elapsed().as_secs_f64();

    let mut parse = Count {
        detector: None,
        records: 0,
        findings: 0,
    };
    let t = Instant::now();
    for c in &compressed {
        read(c, &limits, &mut parse);
    }
    let parse_s = t.elapsed().as_secs_f64();

    let mut full = Count {
        detector: Some(&detector),
        records: 0,
        findings: 0,
    };
    let t = Instant::now();
    for c in &compressed {
        read(c, &limits, &mut full);
    }
    let full_s = t.elapsed().as_secs_f64();

    let n = parse.records as f64;
    println!(
        "{} files, {} records, {:.0} MiB decompressed, one thread",
        files.len(),
        parse.records,
        bytes as f64 / 1048576.0
    );
    println!("read files            {read_s:>7.2} s");
    println!(
        "gunzip                {gunzip_s:>7.2} s  {:>10.0} records/s  {:>6.0} MiB/s",
        n / gunzip_s,
        bytes as f64 / 1048576.0 / gunzip_s
    );
    println!(
        "split (no gunzip)     {split_s:>7.2} s  {:>10.0} records/s",
        raw_records as f64 / split_s
    );
    println!(
        "split+typed (no gz)   {typed_s:>7.2} s  {:>10.0} records/s",
        typed as f64 / typed_s
    );
    println!(
        "read() (no gunzip)    {plain_parse_s:>7.2} s  {:>10.0} records/s",
        plain_parse.records as f64 / plain_parse_s
    );
    println!(
        "read()+detect (no gz) {plain_detect_s:>7.2} s  {:>10.0} records/s",
        plain_detect.records as f64 / plain_detect_s
    );
    println!(
        "gunzip+parse          {parse_s:>7.2} s  {:>10.0} records/s",
        n / parse_s
    );
    println!(
        "gunzip+parse+detect   {full_s:>7.2} s  {:>10.0} records/s  ({} findings)",
        n / full_s,
        full.findings
    );
}
