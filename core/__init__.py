"""SSL Magic Lab core: models, embeddings, analyses. No UI code lives here."""
