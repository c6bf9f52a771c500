"""tsqr's RL pipeline: build a training set, then teach a small policy to write reasonings BM25 can use.

Each module reads alone and is thin over `tsqr/` where the logic is reusable:
`dataset` (the parquet layout the trainers read), `data_sources` + `build_dataset` (making it), `policy`
(loading, LoRA, saving checkpoints the reasoner loads), `rewarding` (the reward as a batched function),
`ppo_math` + `ppo` (a compact PPO), `grpo` (TRL's GRPOTrainer), `run_log` (per-step logs and plots),
`model_card` (the README written into every checkpoint). See train/README.md.
"""
