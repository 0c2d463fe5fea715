"The training precision per device (fastbridge.precision.choose_precision), with the devices' capabilities faked: no GPU needed."
import warnings

import pytest
import torch
from fastai.callback.fp16 import AMPMode, MixedPrecision

import fastbridge.precision as fp
from fastbridge.precision import BF16Autocast, DeviceCapabilities, bf16_is_fast, choose_precision, device_capabilities, precision_callbacks
from fastbridge.learner import text_classifier_learner
from fastbridge.test_utils import tiny_dls

GPUS = {'Tesla T4': (7, 5), 'Tesla V100-SXM2-16GB': (7, 0), 'NVIDIA A100-SXM4-40GB': (8, 0), 'NVIDIA H100 80GB HBM3': (9, 0),
        'NVIDIA GeForce GTX 1080': (6, 1)}


@pytest.fixture
def fake_gpu(monkeypatch):
    "Make torch report one CUDA GPU with the given name and compute capability (nothing runs on it)."
    def install(name):
        cc = GPUS[name]
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
        monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
        monkeypatch.setattr(torch.cuda, 'current_device', lambda: 0)
        monkeypatch.setattr(torch.cuda, 'get_device_name', lambda i=None: name)
        monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda i=None: cc)
        monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda including_emulation=True: True)  # what torch says on a T4
        monkeypatch.setattr(torch.version, 'hip', None)
    return install


@pytest.fixture
def fake_cpu(monkeypatch):
    "Make the learner see a CPU with these flags (what `fastbridge.utils.machine` reads from /proc/cpuinfo)."
    def install(*flags):
        monkeypatch.setattr(fp, 'cpu_model', lambda: 'a test CPU')
        monkeypatch.setattr(fp, 'cpu_flags', lambda: frozenset(flags))
    return install


@pytest.mark.parametrize('name, expected', [('Tesla T4', 'fp16'), ('Tesla V100-SXM2-16GB', 'fp16'), ('NVIDIA A100-SXM4-40GB', 'bf16'),
                                            ('NVIDIA H100 80GB HBM3', 'bf16'), ('NVIDIA GeForce GTX 1080', 'fp32')])
def test_gpu_precision_from_compute_capability(fake_gpu, name, expected):
    fake_gpu(name)
    caps = device_capabilities('cuda')
    assert (caps.kind, caps.name, caps.cuda_capability) == ('cuda', name, GPUS[name])
    choice = choose_precision('cuda')
    assert choice.precision == expected and name in choice.reason
    assert choose_precision() == choice  # CUDA is the default device when there is one
    # torch.cuda.is_bf16_supported() says yes on all of them (emulation); bf16_is_fast only where it is native
    assert bf16_is_fast('cuda') == (expected == 'bf16')


@pytest.mark.parametrize('flags, expected', [(('avx2', 'fma'), 'fp32'), (('avx2', 'avx512f'), 'fp32'),
                                             (('avx2', 'avx512f', 'avx512_bf16'), 'bf16'), (('avx2', 'amx_bf16', 'amx_tile'), 'bf16')])
def test_cpu_precision_from_flags(fake_cpu, flags, expected):
    fake_cpu(*flags)
    assert device_capabilities('cpu').cpu_flags == frozenset(flags)
    assert choose_precision('cpu').precision == expected
    assert bf16_is_fast('cpu') == (expected == 'bf16')


def test_other_devices_and_no_cuda_train_in_fp32(monkeypatch):
    assert choose_precision(caps=DeviceCapabilities('mps', 'Apple M2')).precision == 'fp32'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert choose_precision('cuda').precision == 'fp32'
    with pytest.raises(ValueError, match="needs a CUDA GPU"): choose_precision('cuda', 'bf16')


def test_forced_precisions(fake_gpu, fake_cpu):
    fake_gpu('Tesla T4')
    assert choose_precision('cuda', 'fp32').precision == 'fp32'
    with pytest.warns(UserWarning, match="emulates bfloat16"): assert choose_precision('cuda', 'bf16').precision == 'bf16'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert choose_precision('cuda', 'fp16').precision == 'fp16'  # the T4's own choice: no warning
    fake_cpu('avx2')
    with pytest.raises(ValueError, match="no training path on a CPU"): choose_precision('cpu', 'fp16')
    with pytest.warns(UserWarning, match="emulates bfloat16"): choose_precision('cpu', 'bf16')
    with pytest.raises(ValueError, match="must be 'auto' or one of"): choose_precision('cpu', 'half')
    with pytest.raises(ValueError, match="float32 only"): choose_precision(caps=DeviceCapabilities('mps', 'Apple M2'), precision='fp16')


def test_callbacks_for_each_precision():
    assert precision_callbacks('fp32', 'cuda') == [] and precision_callbacks('fp32', 'cpu') == []
    (fp16,), (bf16,) = precision_callbacks('fp16', 'cuda'), precision_callbacks('bf16', 'cuda:1')
    assert isinstance(fp16, MixedPrecision) and fp16.amp_mode == AMPMode.FP16  # fastai's: float16 autocast + GradScaler
    assert isinstance(bf16, MixedPrecision) and bf16.amp_mode == AMPMode.BF16
    assert [type(c) for c in precision_callbacks('bf16', 'cpu')] == [BF16Autocast]
    with pytest.raises(ValueError, match="No fp16 training on a cpu device"): precision_callbacks('fp16', 'cpu')


def test_learner_applies_the_decision(fake_gpu, fake_cpu):
    "The learner's callbacks follow the data's device: MixedPrecision fp16 on a (faked) T4, BF16Autocast on a bf16 CPU."
    fake_gpu('Tesla T4')
    learn = text_classifier_learner(tiny_dls(device=torch.device('cuda', 0)), seed=0)  # built only, never run
    assert learn.precision.precision == 'fp16'
    assert [c.amp_mode for c in learn.cbs if isinstance(c, MixedPrecision)] == [AMPMode.FP16]
    fake_cpu('avx2', 'amx_bf16')
    learn = text_classifier_learner(tiny_dls(device='cpu'), seed=0)
    assert learn.precision.precision == 'bf16' and any(isinstance(c, BF16Autocast) for c in learn.cbs)
    fake_cpu('avx2')
    learn = text_classifier_learner(tiny_dls(device='cpu'), seed=0)
    assert learn.precision.precision == 'fp32' and not any(isinstance(c, (BF16Autocast, MixedPrecision)) for c in learn.cbs)
    with pytest.warns(UserWarning, match="emulates bfloat16"):  # the older switch, forcing bfloat16 on a CPU without it
        assert text_classifier_learner(tiny_dls(device='cpu'), seed=0, bf16=True).precision.precision == 'bf16'
    with pytest.raises(ValueError, match="disagree"): text_classifier_learner(tiny_dls(device='cpu'), seed=0, bf16=False, precision='bf16')
