"""The model's life cycle: walk-forward evaluation, the final fit, the model card, the training
candidate, the promotion decision, the versioned store and the forecaster every consumer asks.

May import `volpred.data` (features, targets), `volpred.runtime` and `volpred.config`.
"""
