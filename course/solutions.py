# Reference solutions of the course's exercises: one block per exercise, opened by a `# %% exercise <id>` line.
# `solution("<id>")` in a lesson shows a block; the course's tests run each block in place of its starter cell and
# check that it passes (and that the untouched starter does not). This file is the only place they live.

# %% exercise 1.1
sentence = "The unbelievably charming film"
pieces = tok.tokenize(sentence)
ids = tok(sentence)['input_ids']

# %% exercise 1.2
def real_tokens(batch):
    return batch['attention_mask'].sum(1)

# %% exercise 1.3
model = load_classifier('models/two-label', labels=['negative', 'neutral', 'positive'], new_head=True).model

# %% exercise 2.1
smoke = train.iloc[random_subset(train.label, 0.02, seed=0, stratify=True)]

# %% exercise 2.2
(tn, fp), (fn, tp) = cm.values
acc = (tn + tp) / cm.values.sum()
precision, recall = tp / (tp + fp), tp / (tp + fn)
f1 = 2 * precision * recall / (precision + recall)

# %% exercise 2.3
lrs = slice(3e-4 / 10, 3e-4)

# %% exercise 3.1
config = json.loads((export_dir/'config.json').read_text())
labels = [config['id2label'][k] for k in sorted(config['id2label'], key=int)]

# %% exercise 3.2
import fnmatch
lfs_files = [p.name for p in export_dir.iterdir() if any(fnmatch.fnmatch(p.name, pat) for pat in LFS_PATTERNS)]

# %% exercise 4.1
trainable = [1, 1, 2, 2, 3, 3]  # the head alone, then one more group after every second epoch

# %% exercise 4.2
import math
def perplexity(loss):
    return math.exp(loss)

# %% exercise 4.3
weights = [0.2 * 0.5 ** epoch for epoch in range(4)]

# %% exercise 5.1
def mean_pooling(hidden, attention_mask):
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1)

# %% exercise 5.2
my_descriptions = {'negative': "I hated this film, it was awful", 'positive': "I loved this film, it was wonderful"}

# %% exercise 5.3
shots = sample_k_per_class(table[~table.is_valid], 16, seed=0)

# %% exercise 6.1
import re
def negate(text):
    return re.sub(r'\b(is|was|are|were)\b', lambda m: m.group() + ' not', text, count=1)

# %% exercise 6.2
my_tests = [("It was not bad at all.", 'positive'),
            ("I don't think I have ever been so bored.", 'negative'),
            ("Nothing about it worked.", 'negative'),
            ("I never once looked at my watch.", 'positive'),
            ("The jokes never land.", 'negative'),
            ("You won't regret seeing it.", 'positive'),
            ("No one could call it dull.", 'positive'),
            ("It isn't worth the ticket.", 'negative')]

# %% exercise 6.3
has_but = preds.sentence.str.contains(r'\bbut\b', case=False)
n_but = int(has_but.sum())
acc_but = (preds.label == preds.predicted)[has_but].mean()

# %% exercise 7.1
entry_toml = '''team = "The Gradient Descenders"
members = ["Ada", "Grace"]
base_checkpoint = "sentence-transformers/all-MiniLM-L6-v2"
link = "https://github.com/ada/sst2-study/blob/main/07_compete_and_ship_small.ipynb"
library_version = "fastbridge 0.1.0"
track = "sst2"
'''

# %% exercise 7.2
layers = [2, 5]  # six layers in two even steps, ending with the last (`student_layer_ids(6, 2)` agrees)

# %% exercise 7.3
speedup = table.loc['torch-fp32', 'latency_ms'] / table.loc['onnx-int8', 'latency_ms']
shrink = table.loc['torch-fp32', 'size_mib'] / table.loc['onnx-int8', 'size_mib']
