"""Reference runs of the findings (`python -m core dna-sweep`, `pretrain-sweep`, `train-spoken-qa`): each writes a run record (core.common.records) under assets/."""
