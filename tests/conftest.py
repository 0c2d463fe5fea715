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
