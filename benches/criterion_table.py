#!/usr/bin/env python3
"""Prints the wire benchmark's results (target/criterion) as the Markdown table of
crates/aptp-wire/README.md: nanoseconds per message (criterion's slope estimate divided by the
benchmark's Throughput::Elements), one row per sample, one column per operation.

Run after `cargo bench -p aptp-benches --bench wire`: python3 benches/criterion_table.py
"""
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
ROOT = REPO / "target" / "criterion"
# The samples' bytes (aptp_benches::messages), to show each message's length.
SEEDS = REPO / "fuzz" / "seeds" / "message"
# The order of aptp_benches::messages().
ORDER = [
    "sync", "sync_one_step", "sync_padded", "delay_req", "pdelay_req", "pdelay_resp",
    "follow_up", "follow_up_802_1as", "airplay_follow_up", "delay_resp_control_field_0",
    "pdelay_resp_follow_up", "announce", "airplay_announce", "announce_path_trace_atoi_pad",
    "airplay_signaling", "signaling_message_interval_request",
    "signaling_unicast_negotiation", "signaling_unknown_tlvs", "management_get",
    "management_response", "management_error_status",
]
COLUMNS = [
    ("parse", "parse"),
    ("parse_validate", "parse + validate"),
    ("parse_decode_tlvs", "parse + decode TLVs"),
    ("emit", "emit"),
]


def per_element_ns(directory):
    """Nanoseconds per element, or None when the benchmark did not run."""
    bench = directory / "new" / "benchmark.json"
    estimates = directory / "new" / "estimates.json"
    if not bench.exists() or not estimates.exists():
        return None
    meta = json.loads(bench.read_text())
    elements = (meta.get("throughput") or {}).get("Elements", 1)
    data = json.loads(estimates.read_text())
    estimate = data.get("slope") or data["mean"]
    return estimate["point_estimate"] / elements


def fmt(value):
    return "–" if value is None else f"{value:.1f}"


def main():
    if not ROOT.exists():
        sys.exit(f"no results in {ROOT}: run the benchmark first")
    names = []
    parse_dir = ROOT / "parse"
    for entry in sorted(parse_dir.iterdir()) if parse_dir.exists() else []:
        meta = entry / "new" / "benchmark.json"
        if meta.exists():
            names.append(json.loads(meta.read_text())["function_id"])
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    print("| message (bytes) | " + " | ".join(title for _, title in COLUMNS) + " |")
    print("| --- |" + " ---: |" * len(COLUMNS))
    for name in names:
        cells = [fmt(per_element_ns(ROOT / group / name)) for group, _ in COLUMNS]
        seed = SEEDS / name
        size = f" ({seed.stat().st_size})" if seed.exists() else ""
        print(f"| {name}{size} | " + " | ".join(cells) + " |")
    print()
    print("| other | ns per message |")
    print("| --- | ---: |")
    for group in ["capture_stream", "emit_buf", "airplay_packet"]:
        directory = ROOT / group
        if not directory.exists():
            continue
        for entry in sorted(directory.iterdir()):
            value = per_element_ns(entry)
            if value is not None:
                print(f"| {group}/{entry.name} | {fmt(value)} |")


if __name__ == "__main__":
    main()
