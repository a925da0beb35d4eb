"""The paper's prompts: the training user turn, the evaluation user turn, and its rendering for a model.

Training (the authors' code: literal double braces, no space before the problem): `TRAIN_INSTRUCTION + problem`.
Evaluation (the authors' harness): `EVAL_INSTRUCTION + " " + question + "\\n"`, in the model's chat template.
"""

TRAIN_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{{}}."
EVAL_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
# Models without a chat template still get the paper's ChatML layout.
CHATML_FALLBACK = "<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n"


def train_prompt(problem: str) -> str:
    """The paper's training user turn: instruction (literal `\\boxed{{}}`) then the problem, no separator."""
    return TRAIN_INSTRUCTION + problem


def eval_prompt(question: str) -> str:
    """The paper's eval user turn, as its harness rendered it: instruction, a space, the question, a newline."""
    return f"{EVAL_INSTRUCTION} {question}\n"


def eval_messages(question: str) -> list[dict[str, str]]:
    """The eval prompt as chat messages (what the eval parquet files store)."""
    return [{"role": "user", "content": eval_prompt(question)}]


def render_prompt(tokenizer, question: str) -> str:
    """The full eval prompt text: the model's chat template around one user turn, generation prompt added."""
    content = eval_prompt(question)
    if getattr(tokenizer, "chat_template", None) is None:
        return CHATML_FALLBACK.format(content=content)
    messages = [{"role": "user", "content": content}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
