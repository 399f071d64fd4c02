"""The spoken-QA commands of `python -m core` (data, units, training, layer choice)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from core.common.errors import InputError
from core.common.paths import ROOT
from core.speech import hubert  # light: the model loads only when a command asks for it


def _voicing_progress(done: int, total: int) -> None:
    if done % 100 == 0 or done == total:
        print(f"voiced {done}/{total} passages", flush=True)


def cmd_build_spoken_qa(args: argparse.Namespace) -> int:
    from core.spoken_qa import items
    from core.spoken_qa.data import TEXT_SET, build_text_set, examples, write_text_set

    records = build_text_set(args.seed)
    write_text_set(args.out, records)
    summary = {"passages": {}, "questions": {}, "kinds": {}}
    for r in records:
        summary["passages"][r["split"]] = summary["passages"].get(r["split"], 0) + 1
    for q in examples(records):
        summary["questions"][q["split"]] = summary["questions"].get(q["split"], 0) + 1
        summary["kinds"][q["kind"]] = summary["kinds"].get(q["kind"], 0) + 1
    print(json.dumps(summary, indent=2))
    print(f"written to {args.out}")
    if args.voice:
        if Path(args.out).resolve() != TEXT_SET.resolve():
            print("error: --voice voices the committed text set; leave --out as it is",
                  file=sys.stderr)
            return 2
        entries = items.voiced_entries(limit_per_split=args.limit_per_split or None,
                                       train_takes=args.train_takes,
                                       take_voices=args.take_voices, progress=_voicing_progress)
        hours = sum({e["passage_path"]: e["duration_s"] for e in entries}.values()) / 3600
        folder = items.voiced_dir(args.limit_per_split or None, args.train_takes,
                                  args.take_voices)
        print(f"{len(entries)} voiced questions, {hours:.2f} h of passages in {folder}")
    return 0


def cmd_fit_units(args: argparse.Namespace) -> int:
    from core.spoken_qa import items

    entries = items.voiced_entries(limit_per_split=args.limit_per_split or None,
                                   train_takes=args.train_takes, take_voices=args.take_voices,
                                   progress=_voicing_progress)
    ks = [int(k) for k in args.k.split(",")]
    for info in items.fit_codebooks(args.extractor, ks, entries, seed=args.seed):
        print(f"{info.path}: {info.extractor} k={info.k} from {info.files} files, "
              f"{info.seconds / 3600:.2f} h, {info.frames} frames", flush=True)
    return 0


def parse_rates(text: str) -> tuple[tuple[str, float], ...]:
    """"pretrained=1e-4,random=3e-4" -> (("pretrained", 1e-4), ("random", 3e-4)); "" -> ()."""
    try:
        return tuple((name.strip(), float(value)) for name, value in
                     (part.split("=") for part in text.split(",") if part.strip()))
    except ValueError:
        raise SystemExit(f"--lrs looks like pretrained=1e-4,random=3e-4; got {text!r}")


def cmd_train_spoken_qa(args: argparse.Namespace) -> int:
    from core.common import records
    from core.spoken_qa import lab
    from core.tools.sweeps.spoken_qa import sweep

    cfg = lab.SpokenQARunConfig(
        inits=tuple(args.inits.split(",")), extractor=args.extractor, k=args.k,
        unit_map=args.unit_map, steps=args.steps, seed=args.seed, batch_size=args.batch_size,
        lr=args.lr, train_questions=args.train_questions or None,
        eval_questions=args.eval_questions, eval_every=args.eval_every,
        test_questions=args.test_questions or None,
        limit_per_split=args.limit_per_split or None, layers=args.layers or None,
        window=args.window, question_tokens=args.question_tokens, stride=args.stride,
        lrs=parse_rates(args.lrs), train_takes=args.train_takes,
        take_voices=args.take_voices)
    last = {"phase": ""}

    def log(state):
        if state.phase != last["phase"]:
            last["phase"] = state.phase
            print(f"[{state.elapsed_s:7.0f} s] {state.phase}  {state.test}", flush=True)
        for init, curve in state.curves.items():
            if curve and last.get(init) != len(curve):
                last[init] = len(curve)
                print(f"[{state.elapsed_s:7.0f} s]   {init} {curve[-1]}", flush=True)

    result, state = sweep(cfg, on_state=log, checkpoint_dir=args.checkpoint_dir or None)
    out = records.write(args.out, result)
    print(f"written to {out} ({result['wall_s']} s)")
    if args.save:
        from core.spoken_qa.ship import save_shipped

        init = "pretrained" if "pretrained" in state.models else next(iter(state.models))
        report = save_shipped(state.models[init], state.unit_map, cfg, args.save,
                              test_items=lab.split_items(cfg)[2],
                              test_scores=state.test[init], rank=args.rank, init=init)
        print(json.dumps(report, indent=2))
    return 0


def cmd_spoken_qa_live(args: argparse.Namespace) -> int:
    from core.common import records
    from core.spoken_qa import config
    from core.tools.sweeps.spoken_qa import live_sweep

    cfg = replace(config.LIVE_RUN, steps=args.steps or config.LIVE_RUN.steps,
                  lr=args.lr or config.LIVE_RUN.lr)
    if args.lrs:
        cfg = replace(cfg, lrs=parse_rates(args.lrs))
    last = {}

    def log(state):
        for init, curve in state.curves.items():
            point = curve[-1] if curve else None
            if point and "dev_loss" in point and last.get(init) != point["step"]:
                last[init] = point["step"]
                print(f"seed {state.config.seed} {init} {point}", flush=True)

    record = live_sweep(cfg, list(range(args.seeds)), progress=args.progress or None,
                        resume=args.resume, on_state=log)
    out = records.write(args.out, record, indent=1)
    print(json.dumps(record["paired"], indent=1))
    print(f"written to {out} ({record['wall_s']} s)")
    return 0


def cmd_train_hubert(args: argparse.Namespace) -> int:
    from core.common.training import TrainConfig, every, warmup_for
    from core.speech import tiny_hubert as th
    from core.speech.extractors import load_codebook, load_extractor
    from core.speech.quality import LAYER_WORDS, pick_layer
    from core.speech.voice import VOICES, espeak_available
    from core.spoken_qa import items
    from core.tools import train_hubert as tht

    if not 0 <= args.warp < 1:
        raise InputError(f"--warp is how far a crop's frequency axis may stretch either way, "
                         f"from 0 up to but not 1 (0.25: factors 0.75-1.25); got {args.warp}")
    paths = []
    if args.features:
        mels, targets, seconds = tht.load_features(args.features)
    else:
        codebook = load_codebook(args.targets_from, args.targets)  # refused before voicing
        entries = items.voiced_entries(limit_per_split=args.limit_per_split or None,
                                       train_takes=args.takes, take_voices=args.take_voices,
                                       progress=_voicing_progress)
        paths = items.train_passage_paths(entries)
        mels, targets, seconds = tht.clip_features(
            paths + tht.librivox_paths(), codebook, max_hours=args.max_hours or None,
            target_extractor=(None if args.targets_from == "mfcc"
                              else load_extractor(args.targets_from)))
    print(f"{len(mels)} frames ({seconds / 3600:.2f} h), targets: {args.targets_from} "
          f"k={args.targets}", flush=True)
    if args.export_features:
        out = tht.save_features(args.export_features, mels, targets, seconds)
        print(f"features written to {out} ({out.stat().st_size / 2**20:.1f} MB)")
        return 0
    cfg = th.TinyHubertConfig(hidden=args.hidden, layers=args.layers, heads=args.heads,
                              ffn=4 * args.hidden, targets=args.targets, warp=args.warp)
    tc = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                     warmup_steps=warmup_for(args.steps), eval_every=every(args.steps, 20),
                     log_every=every(args.steps, 100), seed=args.seed)
    model, log = tht.pretrain(mels, targets, cfg, tc,
                              on_event=lambda p: print(p, flush=True))
    log["hours_of_audio"] = round(seconds / 3600, 2)
    log["targets_from"] = args.features or args.targets_from  # a features file: its targets
    if not args.features:
        log.update(takes=args.takes, take_voices=args.take_voices)
    if paths and espeak_available():
        best, ratios = pick_layer(lambda i: th.TinyHubertExtractor(model, i),
                                  range(1, model.config.layers + 1), paths, LAYER_WORDS,
                                  VOICES, k=args.targets)
        model.config = replace(model.config, feature_layer=best)  # saved with the model
        log["layer_consistency_ratio"] = ratios
        log["layer_words"] = list(LAYER_WORDS)
        log["config"]["feature_layer"] = best
        print(f"unit consistency ratio by layer (lower is better): {ratios}; using {best}")
    else:
        print(f"layer not measured here (needs the voiced audio and espeak-ng); using "
              f"{model.config.feature_layer}")
    folder = th.save(model, args.out, log)
    print(f"saved to {folder}")
    return 0


def cmd_pick_layer(args: argparse.Namespace) -> int:
    from core.speech.quality import LAYER_WORDS, PICK_AUDIO_FILES, pick_layer
    from core.speech.voice import VOICES, espeak_available
    from core.spoken_qa import items

    if not espeak_available():
        print("error: pick-layer voices words with espeak-ng, which is not installed",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    model = hubert.load_model(args.model)
    entries = items.voiced_entries(limit_per_split=args.limit_per_split or None,
                                   progress=_voicing_progress)
    paths = items.train_passage_paths(entries)
    fit_files = min(len(paths), PICK_AUDIO_FILES)
    print(f"{model.config.num_hidden_layers} layers; units (k={args.k}) fitted on "
          f"{fit_files} train passages; scored on {len(LAYER_WORDS)} words x "
          f"{len(VOICES)} voices", flush=True)
    best, ratios = pick_layer(lambda i: hubert.HubertExtractor(model, layer=i),
                              range(1, int(model.config.num_hidden_layers) + 1), paths,
                              LAYER_WORDS, VOICES, k=args.k)
    out = hubert.write_layer_choice(args.out, args.model, best, ratios, words=LAYER_WORDS,
                                    voices=VOICES, k=args.k, fit_files=fit_files,
                                    wall_s=time.perf_counter() - t0)
    print(f"unit consistency ratio by layer (lower is better): {ratios}; best: layer {best}")
    print(f"written to {out}")
    if args.model == hubert.HUBERT_BASE_REPO:  # codebooks belong to one layer's features
        print("now fit its units on that layer: python -m core fit-units --extractor "
              "hubert-base --k 64,128,512")
    return 0


def _add_voicing_flags(p, takes_flag: str = "--train-takes") -> None:
    """--train-takes (train-hubert: --takes) and --take-voices: which voiced set a command
    voices or trains on."""
    from core.spoken_qa.data import TAKE_POOLS  # light: the text set's constants
    p.add_argument(takes_flag, type=int, default=1, help="voicings of each train passage")
    p.add_argument("--take-voices", default="train", choices=tuple(TAKE_POOLS),
                   help="voices of the extra voicings: train (the six train voices) | more "
                        "(with espeak-ng's female and male variants)")


def add_commands(sub) -> None:
    """Registers build-spoken-qa, fit-units, train-spoken-qa, train-hubert and pick-layer."""
    from core.spoken_qa import config  # light: settings only
    p = sub.add_parser("build-spoken-qa", help="spoken-QA text set (and its espeak-ng audio)")
    p.add_argument("--seed", type=int, default=0, help="question, cut and voice draws")
    p.add_argument("--out", default=str(ROOT / "assets" / "spoken_qa" / "text.jsonl"))
    p.add_argument("--voice", action="store_true", help="voice it into the cache as well")
    p.add_argument("--limit-per-split", type=int, default=0, help="0 = every passage")
    _add_voicing_flags(p)
    p.set_defaults(fn=cmd_build_spoken_qa)
    p = sub.add_parser("fit-units", help="k-means codebooks on the voiced train passages")
    p.add_argument("--extractor", default="mfcc", help="mfcc | hubert-base | ...")
    p.add_argument("--k", default="64,128,512", help="comma-separated unit counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit-per-split", type=int, default=0, help="0 = every passage")
    _add_voicing_flags(p)
    p.set_defaults(fn=cmd_fit_units)
    p = sub.add_parser("train-spoken-qa", help="spoken QA: pretrained vs random init")
    p.add_argument("--inits", default="pretrained,random")
    p.add_argument("--extractor", default="tiny-hubert", help="mfcc | tiny-hubert | hubert-base")
    p.add_argument("--k", type=int, default=128)
    p.add_argument("--unit-map", default="offset", help="offset | random")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8, help="windows per step")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--train-questions", type=int, default=0, help="0 = all")
    p.add_argument("--eval-questions", type=int, default=40, help="dev questions per curve point")
    p.add_argument("--eval-every", type=int, default=0, help="0 = 4 points per curve")
    p.add_argument("--test-questions", type=int, default=0, help="0 = the whole test split")
    p.add_argument("--layers", type=int, default=0, help="keep the first N layers (0 = all)")
    p.add_argument("--window", type=int, default=config.MAX_LEN, help="tokens per window")
    p.add_argument("--question-tokens", type=int, default=config.MAX_QUESTION_TOKENS,
                   help="question units kept in a window")
    p.add_argument("--stride", type=int, default=config.DOC_STRIDE,
                   help="passage units shared by neighbouring windows")
    p.add_argument("--lrs", default="", help="per start, e.g. pretrained=1e-4,random=3e-4")
    _add_voicing_flags(p)
    p.add_argument("--limit-per-split", type=int, default=0,
                   help="voice only the first N passages of each split (0 = all)")
    p.add_argument("--out", default=str(ROOT / "assets" / "spoken_qa" / "reference.json"))
    p.add_argument("--save", default="", help="folder for the shipped QA model (<= 10 MB)")
    p.add_argument("--rank", type=int, default=64, help="rank of the shipped weight deltas")
    p.add_argument("--checkpoint-dir", default="", help="checkpoint every evaluation there; a "
                   "run cut off continues from them when started again with the same settings")
    p.set_defaults(fn=cmd_train_spoken_qa)
    p = sub.add_parser("spoken-qa-live", help="the live panel's default run over paired seeds")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=0, help="0 = the live default's")
    p.add_argument("--lr", type=float, default=0.0, help="0 = the live default's")
    p.add_argument("--lrs", default="", help="per start, e.g. pretrained=1e-4,random=3e-4")
    p.add_argument("--progress", default="", help="finished seeds, written as they end")
    p.add_argument("--resume", action="store_true", help="reuse the seeds in --progress")
    p.add_argument("--out", default=str(ROOT / "assets" / "spoken_qa" / "live.json"))
    p.set_defaults(fn=cmd_spoken_qa_live)
    p = sub.add_parser("train-hubert", help="pretrain tiny-hubert (masked MFCC-unit prediction)")
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=32, help="crops of 8 s per step")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--targets", type=int, default=128, help="k of the units predicted")
    p.add_argument("--targets-from", default="mfcc",
                   help="the units predicted: mfcc (HuBERT's first iteration) or tiny-hubert "
                        "(its second: the shipped model's own units, its committed codebook)")
    _add_voicing_flags(p, "--takes")
    p.add_argument("--warp", type=float, default=0.0,
                   help="vocal-tract-length perturbation: each crop's frequency axis stretched "
                        "by a factor in [1 - warp, 1 + warp] (0 = none)")
    p.add_argument("--limit-per-split", type=int, default=0, help="0 = every passage")
    p.add_argument("--max-hours", type=float, default=0, help="0 = all the audio")
    p.add_argument("--features", default="", help="train from an --export-features file")
    p.add_argument("--export-features", default="", help="write the features (.npz) and stop")
    p.add_argument("--out", default=str(ROOT / "assets" / "speech" / "tiny-hubert"))
    p.set_defaults(fn=cmd_train_hubert)
    p = sub.add_parser("pick-layer", help="measure which layer of a HuBERT gives the best units")
    p.add_argument("--model", default=hubert.HUBERT_BASE_REPO,
                   help="hub repo id or a local folder with a HubertModel (safetensors)")
    p.add_argument("--k", type=int, default=128, help="units fitted on each layer")
    p.add_argument("--limit-per-split", type=int, default=0, help="0 = every passage")
    p.add_argument("--out", default=str(hubert.LAYER_FILE))
    p.set_defaults(fn=cmd_pick_layer)
