"Without the Hub (HF_HUB_OFFLINE=1, set in conftest), Hub paths fail fast with a message that names what works offline."
import pytest
from fastbridge.hub import CheckpointError, load_classifier, load_tokenizer
from fastbridge.sst2.data import load_sst2


def test_hub_checkpoint_offline_names_alternatives():
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE=1.*Offline you can use a packaged alias: 'minilm'"):
        load_classifier('google-bert/bert-base-uncased')
    with pytest.raises(CheckpointError, match="tiny-bert"):
        load_tokenizer('someone/no-such-model')


def test_sst2_from_hub_offline_points_to_vendored_files():
    with pytest.raises(ConnectionError, match=r"Use the vendored files instead: `load_sst2\(split\)`"):
        load_sst2('validation', source='hub')


def test_unknown_source_and_split():
    with pytest.raises(ValueError, match="source must be 'local' or 'hub'"): load_sst2('train', source='kaggle')
    with pytest.raises(ValueError, match="split must be one of"): load_sst2('dev')
