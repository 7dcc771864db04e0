"""Synthetic multi-camera games with exact ground truth.

``generate_game(SynthConfig(...), out_dir)`` renders a court with two teams of players and a
ball seen by several calibrated cameras, each clip with its own resolution, frame rate, start
time and audio, and writes a complete game folder: ``game.yaml``, ``prompts.yaml``,
``calibration.json``, ``clips/<camera>.mp4`` and ``ground_truth/`` (run-directory format plus
``positions.csv``).
"""

from multicam.synth.config import SynthConfig
from multicam.synth.writer import generate_game

__all__ = ["SynthConfig", "generate_game"]
