"""core.common.training: the shared loop on a toy task (CPU, a few hundred parameters)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from core.common.training import TrainConfig, TrainEvent, batch_sampler, lr_at, train

DIM = 8
N_TOY = 256


class Toy(nn.Module):
    """Logistic regression with dropout (so torch's RNG matters); returns {"loss", "logits"}."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.1)
        self.lin = nn.Linear(DIM, 2)

    def forward(self, x, labels):
        logits = self.lin(self.drop(x))  # (B, 2)
        return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}


def toy_data() -> dict[str, torch.Tensor]:
    """Linearly separable: label = [x . w > 0] for a fixed w."""
    g = torch.Generator().manual_seed(123)
    x = torch.randn(N_TOY, DIM, generator=g)  # (N, D)
    w = torch.randn(DIM, generator=g)
    return {"x": x, "labels": (x @ w > 0).long()}


def fresh_toy() -> Toy:
    torch.manual_seed(7)
    return Toy()


CFG = TrainConfig(max_steps=60, batch_size=32, lr=0.05, warmup_steps=5, seed=0)


def accuracy(model: nn.Module) -> dict[str, float]:
    d = toy_data()
    return {"acc": float((model(**d)["logits"].argmax(-1) == d["labels"]).float().mean())}


def test_loss_decreases_and_the_task_is_learnt():
    model = fresh_toy()
    events = list(train(model, batch_sampler(toy_data(), CFG.batch_size), CFG,
                        evaluate=accuracy, device="cpu"))
    assert [e.step for e in events] == list(range(1, CFG.max_steps + 1))
    first = sum(e.loss for e in events[:5]) / 5
    last = sum(e.loss for e in events[-5:]) / 5
    assert last < 0.5 * first, (first, last)
    assert events[-1].metrics["acc"] > 0.9
    assert all(e.metrics is None for e in events[:-1])  # eval_every=0: only at the end
    assert all(b.elapsed_s >= a.elapsed_s for a, b in zip(events, events[1:]))
    assert model.training is False  # left ready for inference


def test_same_seed_same_run_other_seed_other_run():
    def run(seed):
        model = fresh_toy()
        cfg = TrainConfig(max_steps=15, lr=0.05, warmup_steps=2, seed=seed)
        losses = [e.loss for e in train(model, batch_sampler(toy_data(), 16), cfg, device="cpu")]
        return losses, model.lin.weight.detach().clone()

    (l0, w0), (l0b, w0b), (l1, w1) = run(0), run(0), run(1)
    assert l0 == l0b and torch.equal(w0, w0b)
    assert l0 != l1 and not torch.equal(w0, w1)


def test_warmup_then_linear_decay():
    cfg = TrainConfig(max_steps=10, lr=1.0, warmup_steps=4)
    got = [lr_at(s, cfg) for s in range(10)]
    want = [0.25, 0.5, 0.75, 1.0, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6]
    assert got == pytest.approx(want)
    assert lr_at(0, TrainConfig(max_steps=5, lr=2.0, warmup_steps=0)) == pytest.approx(2.0)
    # the loop reports (and uses) exactly these rates
    events = list(train(fresh_toy(), batch_sampler(toy_data(), 8), cfg, device="cpu"))
    assert [e.lr for e in events] == pytest.approx(want)


def test_log_every_and_eval_every():
    cfg = TrainConfig(max_steps=12, lr=0.05, warmup_steps=0, log_every=5, eval_every=4)
    seen = []
    events = list(train(fresh_toy(), batch_sampler(toy_data(), 8), cfg, device="cpu",
                        evaluate=lambda m: {"grad_on": float(torch.is_grad_enabled()),
                                            "training": float(m.training)},
                        on_step=seen.append))
    assert [e.step for e in events] == [4, 5, 8, 10, 12]
    assert [e.step for e in events if e.metrics] == [4, 8, 12]
    assert all(e.metrics == {"grad_on": 0.0, "training": 0.0} for e in events if e.metrics)
    assert seen == events and all(isinstance(e, TrainEvent) for e in events)
    assert all(e.max_steps == 12 for e in events)


def test_closing_the_generator_stops_and_cleans_up():
    model = fresh_toy()
    gen = train(model, batch_sampler(toy_data(), 8), TrainConfig(max_steps=1000), device="cpu")
    steps = [next(gen).step for _ in range(3)]
    assert steps == [1, 2, 3] and model.training
    gen.close()
    assert model.training is False
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(StopIteration):
        next(gen)
    # breaking out of a for loop closes it as well (CPython frees the generator at once)
    n = 0
    for event in train(model, batch_sampler(toy_data(), 8), TrainConfig(max_steps=1000),
                       device="cpu"):
        n += 1
        if event.step == 2:
            break
    assert n == 2 and model.training is False


def test_bad_inputs():
    with pytest.raises(ValueError, match="max_steps"):
        next(train(fresh_toy(), batch_sampler(toy_data(), 8), TrainConfig(max_steps=0)))
    with pytest.raises(ValueError, match="disagree"):
        batch_sampler({"x": torch.zeros(3, 2), "labels": torch.zeros(4)}, 2)


def test_warmup_and_intervals_derive_from_steps():
    from core.common.training import every, warmup_for

    assert [warmup_for(s) for s in (1, 9, 10, 40, 100, 2500)] == [1, 1, 1, 4, 10, 250]
    assert every(100, 50) == 2 and every(40, 50) == 1 and every(2500, 100) == 25
    assert every(500, 4) == 125 and every(0, 50) == 1


def test_a_longer_schedule_makes_a_run_the_first_steps_of_a_longer_one():
    full = TrainConfig(max_steps=10, lr=1.0, warmup_steps=4)
    first = TrainConfig(max_steps=5, lr=1.0, warmup_steps=4, schedule_steps=10)
    assert [lr_at(s, first) for s in range(5)] == [lr_at(s, full) for s in range(5)]
    events = list(train(fresh_toy(), batch_sampler(toy_data(), 8), first, device="cpu"))
    assert [e.lr for e in events] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
