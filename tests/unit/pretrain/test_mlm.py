"""core.pretrain.mlm: the masked language model, its sizes and the run settings.

Everything runs on CPU with the tiny size (2 layers, 128 wide).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.pretrain import mlm
from core.pretrain.data import MAX_POSITIONS, line_source, mask_lines

pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(tok, ids, n=3, seed=0):
    lines = line_source("zipf-1.2", tok)(n, np.random.default_rng(seed))
    return mask_lines(lines, np.random.default_rng(seed), tokenizer_ids=ids)


@pytest.mark.parametrize("arch", mlm.ARCHS)
def test_masked_lm_loss_equals_the_full_logits_reference(tok, ids, arch):
    from transformers import BertModel, RobertaModel

    model = mlm.build_mlm("tiny", arch, vocab_size=len(tok), seed=0).eval()
    assert type(model.encoder) is {"bert": BertModel, "roberta": RobertaModel}[arch]
    assert model.encoder.pooler is None
    assert model.head.decoder.weight is model.encoder.get_input_embeddings().weight  # tied
    b = _batch(tok, ids)
    with torch.no_grad():
        loss = model(**b)
        hidden = model.encoder(input_ids=b["input_ids"],
                               attention_mask=b["attention_mask"]).last_hidden_state
        logits = model.head(hidden)  # (B, 128, V)
        ref = torch.nn.functional.cross_entropy(logits.flatten(0, 1), b["labels"].flatten(),
                                                ignore_index=-100)
        # no masked_positions: found from the labels; no attention mask: same (nothing padded)
        from_labels = model(b["input_ids"], labels=b["labels"])
        all_logits = model(b["input_ids"])
    assert loss.ndim == 0 and abs(loss.item() - np.log(len(tok))) < 1.0  # near-uniform at init
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(from_labels, ref)
    assert all_logits.shape == (3, MAX_POSITIONS, len(tok))


def test_bert_head_is_bert_for_masked_lm(tok, ids):
    """Our weights loaded into transformers' BertForMaskedLM give the same loss."""
    from transformers import BertForMaskedLM

    model = mlm.build_mlm("tiny", vocab_size=len(tok), seed=3).eval()
    stock = BertForMaskedLM(mlm.make_config("tiny", vocab_size=len(tok))).eval()
    rename = {"head.transform.0.": "cls.predictions.transform.dense.",
              "head.transform.2.": "cls.predictions.transform.LayerNorm.",
              "head.bias": "cls.predictions.bias", "encoder.": "bert."}
    state = {}
    for name, t in model.state_dict().items():
        new = next((name.replace(a, b, 1) for a, b in rename.items() if name.startswith(a)), None)
        if new is not None:
            state[new] = t
    missing, unexpected = stock.load_state_dict(state, strict=False)
    assert not unexpected and all("decoder" in m for m in missing), (missing, unexpected)
    stock.tie_weights()
    b = _batch(tok, ids, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(model(**b), stock(**b).loss)


def test_same_seed_same_weights_other_seed_other_weights(tok):
    a, b, c = (mlm.build_mlm("tiny", vocab_size=len(tok), seed=s) for s in (0, 0, 1))
    assert mlm.param_digest(a) == mlm.param_digest(b) != mlm.param_digest(c)
    state = torch.get_rng_state()
    mlm.build_mlm("tiny", vocab_size=len(tok), seed=5)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone


def test_configs(tok):
    bert = mlm.make_config("medium", vocab_size=len(tok))
    rob = mlm.make_config("small", "roberta", vocab_size=len(tok))
    assert (bert.num_hidden_layers, bert.hidden_size, bert.num_attention_heads,
            bert.intermediate_size) == (8, 512, 8, 2048)
    assert bert.max_position_embeddings == MAX_POSITIONS
    assert rob.max_position_embeddings == MAX_POSITIONS + 2 and rob.pad_token_id == 0
    assert bert._attn_implementation == rob._attn_implementation == "sdpa"


def test_run_settings_fill_in_their_defaults():
    cfg = mlm.PretrainConfig(scheme="flat-128", size="small", steps=95)
    assert cfg.lr == mlm.DEFAULT_LR["small"] and cfg.warmup_steps == 9  # 10 % of the steps
    assert mlm.PretrainConfig(scheme="flat-128", steps=5).warmup_steps == 1  # at least one


def test_bad_inputs_give_clear_errors(tok):
    with pytest.raises(InputError, match="tiny, small, medium"):
        mlm.make_config("huge", vocab_size=len(tok))
    with pytest.raises(InputError, match="bert, roberta"):
        mlm.build_mlm("tiny", "gpt", vocab_size=len(tok))
    with pytest.raises(InputError, match="tiny, small, medium"):
        mlm.PretrainConfig(scheme="flat-128", size="huge")
    with pytest.raises(InputError, match="steps"):
        mlm.PretrainConfig(scheme="flat-128", steps=0)
    with pytest.raises(InputError, match="checkpoint_every"):
        mlm.PretrainConfig(scheme="flat-128", checkpoint_every=-1)
