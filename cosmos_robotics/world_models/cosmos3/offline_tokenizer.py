"""A Qwen-style chat tokenizer built offline, for Cosmos 3 pipelines with random or tiny weights.

Cosmos 3 feeds raw token ids of ``Qwen/Qwen3-VL-8B-Instruct``'s tokenizer to its transformer. That tokenizer lives
on the Hugging Face hub, which tests and the GPU benchmark cannot reach. The pipeline only needs what this module
provides: byte-level BPE (so any prompt encodes), the Qwen special tokens it looks up (``<|vision_start|>``, the
``<|im_end|>`` end-of-sequence token) and an ``<|im_start|>role ... <|im_end|>`` chat template. The merges are
trained on the action-prompt vocabulary, so a Cosmos action prompt comes out at roughly the length the real
tokenizer gives it (one token per common word or JSON punctuation run), which keeps benchmark sequence lengths
realistic. Ids are not the real Qwen ids: use it only with random or purpose-built weights.
"""

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen's layout: one <|im_start|>role\n...<|im_end|>\n block per message, then the assistant opener.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Words and punctuation of the prompts Cosmos 3 action calls build (JSON caption, viewpoint sentences, system
# prompts, typical task instructions); the BPE merges are learned from these lines.
_TRAINING_LINES = (
    '{"cinematography": {"framing": "This video contains concatenated views from multiple camera perspectives."},',
    '"actions": [{"time": "0:00-0:01", "description": "Put the marker in the cup."}], "duration": "1s",',
    '"fps": 15.0, "resolution": {"H": 544, "W": 736}, "aspect_ratio": "4,3"}',
    '"fps": 10.0, "resolution": {"H": 480, "W": 832}, "aspect_ratio": "16,9"} "time": "0:00-0:06" "duration": "6s"',
    "This video is captured from a first-person perspective looking at the scene.",
    "This video is captured from a third-person perspective looking towards the agent from the front.",
    "This video is captured from a wrist-mounted camera.",
    "The top row is from the wrist-mounted camera. The bottom row contains two horizontally concatenated",
    "third-person perspective views of the scene from opposite sides, with the robot visible.",
    "You are an autonomous vehicle planning system. You are a helpful assistant who will generate videos",
    "from a give prompt. The video is 2.0 seconds long and is of 24 FPS. This video is of 720x1280 resolution.",
    "A robot manipulates an object. Pick up the red block and place it on the plate. Open the drawer.",
    "Close the lid of the box. Move the bowl to the left. Wipe the table with the towel. mouse arrangement",
    "0 1 2 3 4 5 6 7 8 9 10 16 17 24 30 32 33 60 61 0.0 1.0 2.0 256 320 480 540 544 640 704 720 736 832 960",
)


def build_offline_qwen_tokenizer(vocab_size: int = 2048) -> PreTrainedTokenizerFast:
    """Return a byte-level BPE tokenizer with Qwen's special tokens and chat template, built without network."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_TRAINING_LINES, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN_CHAT_TEMPLATE,
        model_max_length=131072,
    )
