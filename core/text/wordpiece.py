"""BERT-style WordPiece vocabularies the lab trains itself, and fast tokenizers over them.

    entries = train_vocab(lines, 8_000)      # [(token, count)], specials first, then by count
    tok = tokenizer_from_vocab([t for t, _ in entries])
    tok("In the beginning")["input_ids"]     # [2, ..., 3]: [CLS] ... [SEP]

Lower-cased, accents (and other combining marks, e.g. Arabic vowel signs) stripped; Chinese
characters split one a token (BERT's pre-tokenizer). Built from `tokenizers` parts, so a
vocabulary reads the same under every transformers version.
"""
from __future__ import annotations

from collections import Counter

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0-4, BERT's names


def _normalizer():
    from tokenizers import normalizers

    return normalizers.BertNormalizer(lowercase=True, strip_accents=True)


def train_vocab(lines: list[str], size: int) -> list[tuple[str, int]]:
    """A WordPiece vocabulary of `size` entries trained on `lines`, as (entry, count in the
    corpus), SPECIALS first, then by count (ties by entry): an id's rank is its frequency rank."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=size, special_tokens=list(SPECIALS),
                                        show_progress=False)
    tok.train_from_iterator(lines, trainer)
    counts = Counter(t for enc in tok.encode_batch(lines) for t in enc.tokens)
    rest = sorted((t for t in tok.get_vocab() if t not in SPECIALS),
                  key=lambda t: (-counts[t], t))
    return [(t, counts[t]) for t in SPECIALS] + [(t, counts[t]) for t in rest]


def tokenizer_from_vocab(tokens: list[str]):
    """A fast BERT-style tokenizer whose id i is tokens[i] ([CLS] text [SEP]; pairs
    [CLS] a [SEP] b [SEP] with segment ids; SPECIALS must be among the tokens)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_input_names=["input_ids", "token_type_ids",
                                                      "attention_mask"])
