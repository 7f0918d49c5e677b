"""Training and evaluation: configs, the training engine, protocols and the train/eval CLI.

    from tcclip.train import compose_config, run
    cfg = compose_config(["protocol=few_shot", "data=hmdb51", "data.shots=2", "output=runs/x"])
    results = run(cfg)                      # trains, tests with the best checkpoint, writes results.json

    from tcclip.train import evaluate       # top-1 / top-5 of a model on a (multi-view) dataset
    from tcclip.train import TrainParts, train_step  # one optimizer step, as the engine takes it
"""
from .config import compose_config, effective_batch, list_choices, validate_config
from .engine import NonFiniteLossError, StepResult, TrainingInterrupted, TrainParts, train, train_step
from .evaluate import evaluate, harmonic_mean, mean_std
from .precision import Precision, resolve_precision
from .protocols import build_run_model, load_eval_model, run, run_model_spec, run_tests, test_sets, train_views

__all__ = ["compose_config", "validate_config", "list_choices", "effective_batch", "run", "train", "train_step",
           "TrainParts", "StepResult", "Precision", "resolve_precision", "evaluate", "run_tests", "test_sets",
           "train_views", "build_run_model", "run_model_spec", "load_eval_model", "harmonic_mean", "mean_std",
           "NonFiniteLossError", "TrainingInterrupted"]
