"""The cross-lingual commands of `python -m core` (core/tools/cli.py adds them):

  python -m core xling-size-sweep [--resume]   the lab's own multilingual BERTs on growing
                                               corpora: alignment vs verses per language
  python -m core xling-export --cell 0/0 --name lab-mbert-all   ship one of its models
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.common.paths import ROOT


def cmd_xling_size_sweep(args: argparse.Namespace) -> int:
    from core.common import records
    from core.tools.sweeps import xling

    def on_cell(key, cell):
        test = cell["test"]
        print(f"{key}: layer {test['layer']} " + " ".join(
            f"{m} {test[m]:.3f}" for m in xling.MEASURES)
            + (f" ({cell['wall_s']} s)" if "wall_s" in cell else ""), flush=True)

    def on_event(key, point):
        shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in point.items()}
        print(f"  {key} {shown}", flush=True)

    result = xling.sweep(languages=args.languages.split(","),
                         sizes=[int(s) for s in args.sizes.split(",")], seeds=args.seeds,
                         steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         vocab_size=args.vocab_size, size=args.size, fake=not args.no_fake,
                         packing=args.packing, probe_points=args.probe_points,
                         workdir=args.workdir, progress_path=args.progress, resume=args.resume,
                         report=args.report,
                         on_cell=on_cell, on_event=on_event)
    out = records.write(args.out, result, indent=1)
    print(f"written to {out} ({result['wall_s']} s)")
    return 0


def cmd_xling_export(args: argparse.Namespace) -> int:
    from core.text.models import LAB_MODEL_DIR
    from core.tools.sweeps import xling

    if not (args.out or args.name):
        raise SystemExit("give --name (a registry name, e.g. lab-mbert-all) or --out")
    folder = Path(args.out) if args.out else LAB_MODEL_DIR / args.name
    meta = xling.export_cell(args.progress, args.workdir, args.cell, folder, about=args.about)
    print(f"{args.cell} -> {folder}: recorded {meta['recorded_test']}, shipped "
          f"{meta['shipped_test']}")
    return 0


def add_commands(sub) -> None:
    """Adds the cross-lingual commands to `python -m core`'s subparsers."""
    from core.tools.sweeps import xling

    p = sub.add_parser("xling-size-sweep", help="the lab's own multilingual BERTs on growing "
                                                "corpora: alignment vs corpus size")
    p.add_argument("--languages", default=",".join(xling.LANGUAGES))
    p.add_argument("--sizes", default=",".join(map(str, xling.SIZES)),
                   help="verses per language, comma-separated; 0 = all train verses")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=2_000, help="MLM steps per run (every size)")
    p.add_argument("--batch-size", type=int, default=128, help="lines per step")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--vocab-size", type=int, default=8_000)
    p.add_argument("--size", default="narrow", help="core.text.mlm.SIZES")
    p.add_argument("--packing", default="verse", help="where lines start: verse | stream")
    p.add_argument("--probe-points", type=int, default=8, help="dev probes along a run")
    p.add_argument("--no-fake", action="store_true", help="leave out the fake-English control")
    p.add_argument("--workdir", default=str(ROOT / "bench-results" / "xling"),
                   help="checkpoints of the running cell (resumed from)")
    p.add_argument("--progress", default=str(ROOT / "bench-results" / "xling-progress.json"))
    p.add_argument("--resume", action="store_true", help="reuse the cells in --progress")
    p.add_argument("--report", action="store_true",
                   help="run nothing: write the record of the cells finished in --progress")
    p.add_argument("--out", default=str(ROOT / "assets" / "crosslingual" / "size-sweep.json"))
    p.set_defaults(fn=cmd_xling_size_sweep)
    p = sub.add_parser("xling-export", help="ship a finished size-sweep model (a registry "
                                            "entry of the Cross-lingual tab)")
    p.add_argument("--cell", required=True, help="e.g. 0/0 (all verses, seed 0) or 1000/0")
    p.add_argument("--name", default="", help="registry name, e.g. lab-mbert-all")
    p.add_argument("--about", default="", help="one line for the model list")
    p.add_argument("--workdir", default=str(ROOT / "bench-results" / "xling"))
    p.add_argument("--progress", default=str(ROOT / "bench-results" / "xling-progress.json"))
    p.add_argument("--out", default="", help="folder (default: assets/crosslingual/models/NAME)")
    p.set_defaults(fn=cmd_xling_export)
