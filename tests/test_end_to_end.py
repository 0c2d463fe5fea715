"Fine-tune the packaged MiniLM on a small SST-2 subset: accuracy must be well above chance (50%)."
import pytest
from fastai.torch_core import set_seed
from fastbridge.hub import load_tokenizer
from fastbridge.learner import text_classifier_learner
from fastbridge.sst2.data import sst2_dataloaders
from fastbridge.test_utils import REVIEWS


@pytest.mark.slow
def test_minilm_learns_sst2_subset():
    set_seed(42, reproducible=True)
    tok = load_tokenizer('minilm')
    dls = sst2_dataloaders(tok, train_pct=0.05, bs=32, seed=42)  # 3,367 items, both classes in proportion
    learn = text_classifier_learner(dls, 'minilm', seed=42)
    learn.fit_one_cycle(2, 1e-4)
    loss, acc, f1 = learn.validate()
    assert acc > 0.78, f"validation accuracy {acc:.3f} after two epochs on 5% of SST-2"
    text, want = REVIEWS[0]  # "a gorgeous, witty, seductive movie.", positive
    label, _, probs = learn.predict(text)
    assert label == want == 'positive' and probs[1] > 0.5
