"""Computing: training, ablation importance, VIDA, baselines, embeddings."""
