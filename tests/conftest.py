"Shared pytest set-up: tests never reach the network, and `slow` marks the end-to-end fine-tunes."
import os
from pathlib import Path
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

REPO = Path(__file__).resolve().parents[1]
SHARED_SST2 = REPO.parent/'shared'/'data'/'sst2'


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end runs on the packaged checkpoint (minutes); deselect with -m "not slow"')


@pytest.fixture
def repo(): return REPO


@pytest.fixture(scope='session')
def review_texts() -> list[str]:
    "The twelve short reviews of `fastbridge.test_utils.reviews_df` (imported here, not above: many tests need no torch)."
    from fastbridge.test_utils import reviews_df
    return reviews_df().text.tolist()
