"Packaging for fastbridge: every setting comes from settings.ini (nbdev's single source of truth)."
from configparser import ConfigParser
from pathlib import Path
from setuptools import setup, find_packages
from setuptools.command.build_py import build_py

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
lic = licenses[cfg['license']]
py_versions = '3.11 3.12 3.13'.split()
min_python = cfg['min_python']

# Files outside the package that a pip-installed kit needs (the lessons, `load_sst2`, `fastbridge-sst2 validate`):
# the wheel carries each at the same relative path under fastbridge/_shipped/ (data, never a module of the package), so the repository keeps one copy. The answer
# key is not in the repository, so it cannot ship; the list names files, never folders, so nothing else slips in.
SHIPPED_FILES = ['competitions/sst2/competition.toml', 'competitions/sst2/data/README.md',
                 'competitions/sst2/data/train.tsv', 'competitions/sst2/data/validation.tsv',
                 'competitions/sst2/data/test.tsv', 'course/solutions.py']

class build_py_with_shipped_files(build_py):
    "Copy `SHIPPED_FILES` into the built package (a wheel, or a pip install from the git URL)."
    def run(self):
        super().run()
        for f in SHIPPED_FILES:
            dest = Path(self.build_lib)/cfg['lib_path']/'_shipped'/f
            self.mkpath(str(dest.parent))
            self.copy_file(f, str(dest), preserve_mode=False)

setup(
    cmdclass={'build_py': build_py_with_shipped_files},
    name=cfg['lib_name'].replace('_', '-'),
    version=cfg['version'],
    description=cfg['description'],
    author=cfg['author'], author_email=cfg['author_email'],
    license=lic[0],
    url=cfg['git_url'],
    keywords=cfg['keywords'],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'License :: ' + lic[1],
                 'Natural Language :: ' + cfg['language'].title()] +
                ['Programming Language :: Python :: ' + v for v in py_versions[py_versions.index(min_python):]],
    packages=find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']),
    include_package_data=True,
    install_requires=cfg.get('requirements', '').split(),
    extras_require={'dev': cfg.get('dev_requirements', '').split(), 'wandb': cfg.get('wandb_requirements', '').split(),
                    'demo': cfg.get('demo_requirements', '').split(),
                    'competition': cfg.get('competition_requirements', '').split(),
                    'onnx': cfg.get('onnx_requirements', '').split(), 'bench': cfg.get('bench_requirements', '').split()},
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
